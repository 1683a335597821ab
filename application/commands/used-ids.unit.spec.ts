import { describe, expect, it } from "vitest";
import { accountDecider, RECENT_IDS, type AccountCommand } from "../../domain/account.ts";
import type { EventStore } from "../../domain/event-store.ts";
import { accountStream } from "../../domain/events.ts";
import { createMemoryEventStore } from "../../infra/memory/event-store.ts";
import { manual, NOW, pay, refund, release, reserve, track, usage, USD } from "../../test/fixtures/account.fixtures.ts";
import { createCommandHandler } from "./command-handler.ts";

// An account refuses every id it ever used, but its cached state keeps only the RECENT_IDS newest of
// each kind when the store can look the others up (EventStore.usedIds): the state stays small however
// long the account's history, so the handler's bounded cache does not have to reload whole streams.

const ctx = { actor: { type: "admin" as const, id: "admin" }, correlationId: "c", now: NOW };
const MANY = RECENT_IDS + 22;

/** a memory store counting stream reads and id lookups; `lookUps: false` takes usedIds away (as EventStoreDB) */
function watched(lookUps = true) {
  const store = createMemoryEventStore();
  const reads = new Map<string, number>();
  const asked: string[][] = [];
  const wrapped: EventStore = {
    ...store,
    readStream: async (stream, from) => {
      reads.set(stream, (reads.get(stream) ?? 0) + 1);
      return store.readStream(stream, from);
    },
    usedIds: lookUps
      ? async (stream, keys) => {
          asked.push(keys);
          return store.usedIds!(stream, keys);
        }
      : undefined,
  };
  return { store: wrapped, reads, asked };
}

const forUser = (userId: string, command: AccountCommand) => ({ ...command, data: { ...command.data, userId } }) as AccountCommand;

/** one account with MANY ids of every kind: usage, reservation, refund and transaction */
async function longHistory(store: EventStore) {
  const accounts = createCommandHandler(store).for(accountDecider, accountStream);
  await accounts.handle("u1", pay("p1", 1000 * USD), ctx);
  for (let i = 0; i < MANY; i++) {
    await accounts.handle("u1", track(usage(`u${i}`, 1)), ctx);
    await accounts.handle("u1", reserve(`r${i}`, 1), ctx);
    await accounts.handle("u1", release(`r${i}`), ctx);
    await accounts.handle("u1", refund("p1", `f${i}`, 1), ctx);
    await accounts.handle("u1", manual(`t${i}`, "credit", 1), ctx);
  }
  return accounts;
}

const reused: [string, AccountCommand][] = [
  ["USAGE.DUPLICATE", track(usage("u0", 1, { transactionId: "fresh-1" }))],
  ["RESERVATION.DUPLICATE", reserve("r0", 1)],
  ["REFUND.DUPLICATE", { ...refund("p1", "f0", 1), data: { ...refund("p1", "f0", 1).data, transactionId: "fresh-2" } } as AccountCommand],
  ["TRANSACTION.DUPLICATE", manual("t0", "credit", 1)],
];

describe("used ids beyond the recent ones", () => {
  it("a long-lived account still refuses its oldest ids of every kind: the store vouches for the ones the state forgot", async () => {
    const { store, asked } = watched();
    const accounts = await longHistory(store);
    for (const [code, command] of reused) await expect(accounts.handle("u1", command, ctx)).rejects.toMatchObject({ code });
    // and so does a fresh instance, which folds the stream and forgets at once
    const fresh = createCommandHandler(store).for(accountDecider, accountStream);
    for (const [code, command] of reused) await expect(fresh.handle("u1", command, ctx)).rejects.toMatchObject({ code });
    expect(asked.flat()).toEqual(
      expect.arrayContaining(["ai_usage:u0", "usage_reserved:r0", "payment_refunded:f0", "transaction_created:t0"]),
    );
    // new ids still go through, and the ledger is exact
    const ok = await fresh.handle("u1", manual("t-new", "credit", 1), ctx);
    expect(ok.events[0]!.data).toMatchObject({ transactionId: "t-new", balanceAfter: 1000 * USD - MANY * 1 - MANY * 1 + MANY * 1 + 1 });
  });

  it("a duplicate within one batch is refused although the store has not seen either yet", async () => {
    const { store } = watched();
    const accounts = await longHistory(store);
    const twice = await Promise.allSettled([
      accounts.handle("u1", manual("t-dup", "credit", 1), ctx),
      accounts.handle("u1", manual("t-dup", "credit", 1), ctx),
    ]);
    expect(twice.map((r) => r.status)).toEqual(["fulfilled", "rejected"]);
  });

  it("a store that cannot look ids up (EventStoreDB): the state keeps every id, asks nothing, and refuses the same", async () => {
    const { store, asked } = watched(false);
    const accounts = await longHistory(store);
    for (const [code, command] of reused) await expect(accounts.handle("u1", command, ctx)).rejects.toMatchObject({ code });
    expect(asked).toEqual([]);
  });

  it("ids are looked up only for accounts that forgot some: a small account costs no lookup", async () => {
    const { store, asked } = watched();
    const accounts = createCommandHandler(store).for(accountDecider, accountStream);
    await accounts.handle("u1", pay("p1", USD), ctx);
    await accounts.handle("u1", manual("t1", "credit", 1), ctx);
    await expect(accounts.handle("u1", manual("t1", "credit", 1), ctx)).rejects.toMatchObject({ code: "TRANSACTION.DUPLICATE" });
    expect(asked).toEqual([]);
  });

  it("a command whose ids were drawn at random for it (freshIds) asks nothing, on a long account too", async () => {
    const { store, asked } = watched();
    const accounts = await longHistory(store);
    const before = asked.length;
    const fresh = (command: AccountCommand) => ({ ...command, freshIds: true }) as AccountCommand;
    await accounts.handle("u1", fresh(track(usage("u-fresh", 1))), ctx);
    await accounts.handle("u1", fresh(reserve("r-fresh", 1)), ctx);
    expect(asked.length).toBe(before);
    // the same ids without the flag are asked about (the state forgot ids) — and found used
    await expect(accounts.handle("u1", track(usage("u0", 1, { transactionId: "fresh-3" })), ctx)).rejects.toMatchObject({
      code: "USAGE.DUPLICATE",
    });
    expect(asked.length).toBeGreaterThan(before);
  });

  it("long histories fit the cache: accounts of MANY×2 events each are loaded once, not on every command", async () => {
    const { store, reads } = watched();
    const users = Array.from({ length: 8 }, (_, i) => `big${i}`);
    // 200 KB: 8 states that kept every id (~300 ids each, estimated at 100 B) would not fit, forgetful ones do
    const accounts = createCommandHandler(store, 10_000, 200 * 1024).for(accountDecider, accountStream);
    for (const user of users) await accounts.handle(user, forUser(user, pay("p", USD)), ctx);
    for (let i = 0; i < MANY * 2; i++)
      for (const user of users) await accounts.handle(user, forUser(user, manual(`t${i}`, "credit", 1)), ctx);
    expect(new Set(reads.values())).toEqual(new Set([1]));
    expect(reads.size).toBe(users.length);
  });
});
