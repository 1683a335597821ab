import { describe, expect, it } from "vitest";
import { accountDecider, type AccountCommand } from "../../domain/account.ts";
import { accountStream } from "../../domain/events.ts";
import { createMemoryEventStore } from "../../infra/memory/event-store.ts";
import { NOW, pay, USD } from "../../test/fixtures/account.fixtures.ts";
import { createCommandHandler, type CommandContext } from "../commands/command-handler.ts";
import { trackUsage } from "./billing.ts";

// trackUsage marks its command freshIds only when it drew the usage id at random itself: a caller's id,
// or one derived from an Idempotency-Key, may have been used before and is looked up as ever.

async function recorded() {
  const handler = createCommandHandler(createMemoryEventStore()).for(accountDecider, accountStream);
  const commands: AccountCommand[] = [];
  const accounts = {
    handle: (id: string, command: AccountCommand, ctx: CommandContext) => (commands.push(command), handler.handle(id, command, ctx)),
  };
  const ctx: CommandContext = { actor: { type: "admin", id: "admin" }, correlationId: "c", now: NOW };
  await accounts.handle("u1", pay("p1", USD), ctx);
  const catalog = { version: "test", models: [] };
  const usage = {
    userId: "u1",
    provider: "openai",
    model: "m",
    promptTokens: 1,
    completionTokens: 1,
    cost: 1,
    service: "chat",
    resource: "chat",
  };
  return { commands, track: (c: CommandContext, extra = {}) => trackUsage({ accounts, catalog }, c, { ...usage, ...extra }), ctx };
}

describe("trackUsage: freshIds", () => {
  it("set when the usage id is drawn here; not for a caller's id nor one derived from an Idempotency-Key", async () => {
    const { commands, track, ctx } = await recorded();
    await track(ctx);
    await track(ctx, { usageId: "use_given" });
    await track({ ...ctx, idempotencyScope: "scope-0123456789abcdef0123456789" });
    expect(commands.slice(1).map((c) => ("freshIds" in c ? c.freshIds : undefined))).toEqual([true, undefined, undefined]);
  });
});
