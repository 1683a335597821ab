import { describe, expect, it } from "vitest";
import { accountDecider, type AccountCommand } from "../../domain/account.ts";
import { manual, NOW, pay, USD } from "../../domain/account.fixtures.ts";
import { ConcurrencyError, type EventStore } from "../../domain/event-store.ts";
import { accountStream } from "../../domain/events.ts";
import { verifyChain } from "../../domain/hash-chain.ts";
import { isUuid } from "../../domain/ids.ts";
import { createMemoryEventStore } from "../../infra/memory/event-store.ts";
import { createCommandHandler, uuidV7 } from "./handle-command.ts";

describe("uuidV7", () => {
  it("is a valid RFC 9562 version-7 UUID whose first 48 bits are the time", () => {
    const ms = Date.parse("2026-11-27T12:00:00Z");
    const id = uuidV7(ms);
    expect(isUuid(id)).toBe(true);
    expect(id[14]).toBe("7");
    expect("89ab").toContain(id[19]);
    expect(parseInt(id.replace(/-/g, "").slice(0, 12), 16)).toBe(ms);
  });

  it("sorts by time and is unique", () => {
    const ids = Array.from({ length: 1000 }, (_, i) => uuidV7(1_700_000_000_000 + i));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(Array.from({ length: 1000 }, () => uuidV7(1)))).toHaveProperty("size", 1000);
  });
});

// Another instance (its own handler and cache) writes between this handler's decision and its append.
describe("createCommandHandler: conflicts with another writer", () => {
  const stream = accountStream("u1");
  const ctx = (id: string) => ({ actor: { type: "admin" as const, id: "admin" }, correlationId: id, now: NOW });

  /** a handler whose next `writes` appends are each preceded by one of the other instance's commands */
  async function contended(writes: number, otherCommand: (i: number) => AccountCommand) {
    const store = createMemoryEventStore();
    const other = createCommandHandler(store);
    let armed = false;
    let attempts = 0;
    const racing: EventStore = {
      ...store,
      append: async (name, events, expected) => {
        if (armed) attempts++;
        if (armed && attempts <= writes) await other.handle(stream, accountDecider, otherCommand(attempts), ctx(`other-${attempts}`));
        return store.append(name, events, expected);
      },
    };
    const mine = createCommandHandler(racing);
    await other.handle(stream, accountDecider, pay("p0", 10 * USD), ctx("seed"));
    await mine.handle(stream, accountDecider, manual("t-warm", "credit", 1), ctx("warm")); // cached at its revision
    armed = true;
    return { store, mine, attempts: () => attempts };
  }

  it("reloads the stream and decides again on what the other writer appended", async () => {
    const { store, mine, attempts } = await contended(1, () => manual("t-other", "debit", 6 * USD));
    // decided on the cached balance (10 USD + 1 micro): fine; after the reload (4 USD + 1 micro): refused
    await expect(mine.handle(stream, accountDecider, manual("t-mine", "debit", 6 * USD), ctx("mine"))).rejects.toMatchObject({
      code: "ACCOUNT.INSUFFICIENT_FUNDS",
    });
    expect(attempts()).toBe(1); // the refusal came from the second decision: nothing was appended blindly
    const events = await store.readStream(stream);
    expect(events.map((e) => (e.type === "transaction_created" ? e.data.transactionId : e.type))).toEqual(["payment_processed", "txn_p0", "t-warm", "t-other"]);
    expect(verifyChain(events).ok).toBe(true);
  });

  it("decides again at most 5 times: 4 conflicts then success, on the latest state", async () => {
    const { store, mine, attempts } = await contended(4, (i) => manual(`t-other-${i}`, "credit", USD));
    const result = await mine.handle(stream, accountDecider, manual("t-mine", "credit", USD), ctx("mine"));
    expect(attempts()).toBe(5);
    // 10 USD + 1 micro + 4 × 1 USD from the other writer + mine
    expect(result.events.at(-1)).toMatchObject({ type: "transaction_created", data: { transactionId: "t-mine", balanceAfter: 15 * USD + 1 } });
    expect(verifyChain(await store.readStream(stream)).ok).toBe(true);
  });

  it("5 conflicts in a row: the command fails with the ConcurrencyError, nothing of it appended", async () => {
    const { store, mine, attempts } = await contended(5, (i) => manual(`t-other-${i}`, "credit", USD));
    await expect(mine.handle(stream, accountDecider, manual("t-mine", "credit", USD), ctx("mine"))).rejects.toBeInstanceOf(ConcurrencyError);
    expect(attempts()).toBe(5);
    const ids = (await store.readStream(stream)).flatMap((e) => (e.type === "transaction_created" ? [e.data.transactionId] : []));
    expect(ids).not.toContain("t-mine");
    expect(ids).toHaveLength(7); // txn_p0, t-warm and the other writer's 5
  });
});
