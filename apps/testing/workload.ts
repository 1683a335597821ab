import { accountDecider, type AccountCommand } from "../../domain/account.ts";
import type { EventStore } from "../../domain/event-store.ts";
import { accountStream } from "../../domain/events.ts";
import { DomainError } from "../../domain/errors.ts";
import { createCommandHandler } from "../shared/handle-command.ts";

/** A deterministic mix of payments, usage, credits and refunds over `users` accounts, through the real command path. */
export async function appendWorkload(store: EventStore, { users = 20, commands = 1000, start = Date.parse("2026-11-01T00:00:00Z") } = {}) {
  const handler = createCommandHandler(store);
  let seed = 42;
  const rand = (n: number) => {
    // mulberry32: deterministic, good low bits
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) % n;
  };
  const models = [["openai", "gpt-4o"], ["openai", "gpt-4o-mini"], ["openrouter", "claude-3.5-sonnet"]] as const;
  const batch: Promise<unknown>[] = [];
  for (let i = 0; i < commands; i++) {
    const userId = `user-${rand(users)}`;
    const now = new Date(start + i * 97_000).toISOString();
    const kind = i < users ? 0 : rand(10);
    const id = `w${i}`;
    let command: AccountCommand;
    if (kind === 0) command = { type: "processPayment", data: { userId, paymentId: `pay-${id}`, transactionId: `txn-${id}`, amount: 5_000_000 + rand(5_000_000), currency: "USD", method: "card" }, now };
    else if (kind === 1) command = { type: "createTransaction", data: { userId, transactionId: `txn-${id}`, type: "credit", amount: 1 + rand(100_000) }, now };
    else if (kind === 2) command = { type: "refundPayment", data: { userId, paymentId: `pay-w${rand(users)}`, refundId: `rfd-${id}`, transactionId: `txn-${id}`, amount: 1 + rand(1000) }, now };
    else {
      const [provider, model] = models[rand(models.length)]!;
      const promptTokens = rand(4000);
      const completionTokens = rand(1000);
      command = {
        type: "trackUsage",
        data: { userId, usageId: `use-${id}`, transactionId: `txn-${id}`, requestId: `req-${id}`, service: "chat", resource: "chat.completions", provider, model, promptTokens, completionTokens, cost: promptTokens + completionTokens * 3, prices: { promptPerMillion: 1_000_000, completionPerMillion: 3_000_000 }, timestamp: now },
        now,
      };
    }
    const ctx = { actor: { type: "system" as const, id: "workload" }, correlationId: id, now };
    batch.push(handler.handle(accountStream(userId), accountDecider, command, ctx).catch((e) => { if (!(e instanceof DomainError)) throw e; }));
    if (batch.length >= 64) await Promise.all(batch.splice(0));
  }
  await Promise.all(batch);
  return store.headPosition();
}
