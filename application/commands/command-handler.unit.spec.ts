import { describe, expect, it } from "vitest";
import { accountDecider, type AccountCommand } from "../../domain/account.ts";
import { manual, NOW, pay, USD } from "../../test/fixtures/account.fixtures.ts";
import { ConcurrencyError, type EventStore } from "../../domain/event-store.ts";
import { accountStream, type RecordedEvent } from "../../domain/events.ts";
import { verifyChain } from "../../domain/hash-chain.ts";
import { isUuid } from "../../domain/ids.ts";
import { createMemoryEventStore } from "../../infra/memory/event-store.ts";
import { createCommandHandler, uuidV7 } from "./command-handler.ts";

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
    const other = createCommandHandler(store).for(accountDecider, accountStream);
    let armed = false;
    let attempts = 0;
    const racing: EventStore = {
      ...store,
      append: async (name, events, expected, lastEventId) => {
        if (armed) attempts++;
        if (armed && attempts <= writes) await other.handle("u1", otherCommand(attempts), ctx(`other-${attempts}`));
        return store.append(name, events, expected, lastEventId);
      },
    };
    const mine = createCommandHandler(racing).for(accountDecider, accountStream);
    await other.handle("u1", pay("p0", 10 * USD), ctx("seed"));
    await mine.handle("u1", manual("t-warm", "credit", 1), ctx("warm")); // cached at its revision
    armed = true;
    return { store, mine, attempts: () => attempts };
  }

  it("calls ctx.decided when the decider accepts, before the append is durable; a decision undone by a conflict still rejects", async () => {
    const { mine } = await contended(1, () => manual("t-other", "debit", 6 * USD));
    let decided = 0;
    await expect(mine.handle("u1", manual("t-mine", "debit", 6 * USD), { ...ctx("mine"), decided: () => decided++ })).rejects.toMatchObject(
      {
        code: "ACCOUNT.INSUFFICIENT_FUNDS",
      },
    );
    expect(decided).toBe(1); // accepted on the cached state, refused on the reloaded one

    const store = createMemoryEventStore();
    let durable!: () => void;
    const gate = new Promise<void>((resolve) => (durable = resolve));
    const slow: EventStore = { ...store, append: async (...args) => gate.then(() => store.append(...args)) };
    const handler = createCommandHandler(slow).for(accountDecider, accountStream);
    const seen: string[] = [];
    const paid = handler
      .handle("u1", pay("p1", USD), { ...ctx("p1"), decided: () => seen.push("decided") })
      .then(() => seen.push("durable"));
    const refused = handler
      .handle("u1", manual("t-big", "debit", 2 * USD), { ...ctx("t-big"), decided: () => seen.push("wrongly decided") })
      .catch(() => seen.push("refused"));
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual(["decided"]); // the append is still waiting
    durable();
    await Promise.all([paid, refused]);
    expect(seen).toEqual(["decided", "durable", "refused"]);
  });

  it("reloads the stream and decides again on what the other writer appended", async () => {
    const { store, mine, attempts } = await contended(1, () => manual("t-other", "debit", 6 * USD));
    // decided on the cached balance (10 USD + 1 micro): fine; after the reload (4 USD + 1 micro): refused
    await expect(mine.handle("u1", manual("t-mine", "debit", 6 * USD), ctx("mine"))).rejects.toMatchObject({
      code: "ACCOUNT.INSUFFICIENT_FUNDS",
    });
    expect(attempts()).toBe(1); // the refusal came from the second decision: nothing was appended blindly
    const events = await store.readStream(stream);
    expect(events.map((e) => (e.type === "transaction_created" ? e.data.transactionId : e.type))).toEqual([
      "payment_processed",
      "txn_p0",
      "t-warm",
      "t-other",
    ]);
    expect(verifyChain(events).ok).toBe(true);
  });

  it("decides again at most 5 times: 4 conflicts then success, on the latest state", async () => {
    const { store, mine, attempts } = await contended(4, (i) => manual(`t-other-${i}`, "credit", USD));
    const result = await mine.handle("u1", manual("t-mine", "credit", USD), ctx("mine"));
    expect(attempts()).toBe(5);
    // 10 USD + 1 micro + 4 × 1 USD from the other writer + mine
    expect(result.events.at(-1)).toMatchObject({
      type: "transaction_created",
      data: { transactionId: "t-mine", balanceAfter: 15 * USD + 1 },
    });
    expect(verifyChain(await store.readStream(stream)).ok).toBe(true);
  });

  it("5 conflicts in a row: the command fails with the ConcurrencyError, nothing of it appended", async () => {
    const { store, mine, attempts } = await contended(5, (i) => manual(`t-other-${i}`, "credit", USD));
    await expect(mine.handle("u1", manual("t-mine", "credit", USD), ctx("mine"))).rejects.toBeInstanceOf(ConcurrencyError);
    expect(attempts()).toBe(5);
    const ids = (await store.readStream(stream)).flatMap((e) => (e.type === "transaction_created" ? [e.data.transactionId] : []));
    expect(ids).not.toContain("t-mine");
    expect(ids).toHaveLength(7); // txn_p0, t-warm and the other writer's 5
  });
});

describe("createCommandHandler: batches, cache and failures", () => {
  const ctx = { actor: { type: "admin" as const, id: "admin" }, correlationId: "c", now: NOW };
  /** a memory store that counts reads and appends per stream, and can be told to fail */
  function counted() {
    const store = createMemoryEventStore();
    const reads = new Map<string, number>();
    const appends: { stream: string; events: number }[] = [];
    const fail = { read: 0, append: 0 };
    const wrapped: EventStore = {
      ...store,
      readStream: async (stream, from) => {
        if (fail.read-- > 0) throw new Error("read failed");
        reads.set(stream, (reads.get(stream) ?? 0) + 1);
        return store.readStream(stream, from);
      },
      append: async (stream, events, expected, lastEventId) => {
        appends.push({ stream, events: events.length });
        if (fail.append-- > 0) throw new Error("disk full");
        return store.append(stream, events, expected, lastEventId);
      },
    };
    return { store: wrapped, reads, appends, fail };
  }
  const payTo = (userId: string, id: string): [string, AccountCommand, typeof ctx] => {
    const command = pay(id, USD);
    return [userId, { ...command, data: { ...command.data, userId } } as AccountCommand, ctx];
  };

  it("commands arriving together on one stream are decided in turn and appended in ONE append", async () => {
    const { store, appends } = counted();
    const handler = createCommandHandler(store).for(accountDecider, accountStream);
    const results = await Promise.all(["p1", "p2", "p3"].map((id) => handler.handle(...payTo("u1", id))));
    expect(appends).toEqual([{ stream: "account-u1", events: 6 }]);
    expect(new Set(results.map((r) => r.position)).size).toBe(1);
    expect(results.map((r) => (r.events[1]!.data as { balanceAfter: number }).balanceAfter)).toEqual([USD, 2 * USD, 3 * USD]);
  });

  it("keeps folded states of the most recently used streams only (LRU of cacheSize)", async () => {
    const { store, reads } = counted();
    const handler = createCommandHandler(store, 2).for(accountDecider, accountStream);
    for (const [user, id] of [
      ["a", "1"],
      ["b", "2"],
      ["a", "3"],
      ["c", "4"],
      ["a", "5"],
      ["b", "6"],
    ] as const)
      await handler.handle(...payTo(user, id));
    // a: loaded once and kept (it was used last); b: evicted by c, loaded again; c: once
    expect(Object.fromEntries(reads)).toEqual({ "account-a": 1, "account-b": 2, "account-c": 1 });
  });

  it("bounds its folded states by estimated bytes too: below any state's size only the stream used last stays", async () => {
    const { store, reads } = counted();
    const handler = createCommandHandler(store, 1000, 1).for(accountDecider, accountStream);
    for (const [user, id] of [
      ["a", "1"],
      ["a", "2"],
      ["b", "3"],
      ["a", "4"],
      ["b", "5"],
    ] as const)
      await handler.handle(...payTo(user, id));
    expect(Object.fromEntries(reads)).toEqual({ "account-a": 2, "account-b": 2 });
  });

  it("a store failure (not a conflict) fails the batch at once, and the stream is reloaded for the next command", async () => {
    const { store, reads, appends, fail } = counted();
    const handler = createCommandHandler(store).for(accountDecider, accountStream);
    await handler.handle(...payTo("u1", "p1"));
    fail.append = 1;
    await expect(handler.handle(...payTo("u1", "p2"))).rejects.toThrow("disk full");
    expect(appends).toHaveLength(2); // no retry of a failure that is not a conflict
    await handler.handle(...payTo("u1", "p2"));
    expect(reads.get("account-u1")).toBe(2);
    fail.read = 1;
    const stale = createCommandHandler(store).for(accountDecider, accountStream);
    await expect(stale.handle(...payTo("u1", "p3"))).rejects.toThrow("read failed");
    expect((await stale.handle(...payTo("u1", "p3"))).events[1]!.data).toMatchObject({ balanceAfter: 3 * USD });
  });
});

// A store whose appends wait for a gate and then take effect in the order they were called (as SQLite's
// writer thread applies them), or that does not claim to chain them (as PostgreSQL and EventStoreDB).
describe("createCommandHandler: appends in flight", () => {
  const ctx = (id: string) => ({ actor: { type: "admin" as const, id: "admin" }, correlationId: id, now: NOW });

  function gated(chainsAppends: boolean) {
    const store = createMemoryEventStore();
    let open!: () => void;
    let gate = new Promise<void>((resolve) => (open = resolve));
    const called: { expected: unknown; lastEventId?: string }[] = [];
    const wrapped: EventStore = {
      ...store,
      chainsAppends,
      append: (stream, events, expected, lastEventId) => {
        called.push({ expected, ...(lastEventId === undefined ? {} : { lastEventId }) });
        return gate.then(() => store.append(stream, events, expected, lastEventId));
      },
    };
    const release = () => {
      open();
      gate = new Promise<void>((resolve) => (open = resolve));
    };
    return { store, wrapped, called, release };
  }
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  /** opens the gate `times` times, a loop turn apart: the appends in flight and those decided again behind them */
  const releaseEach = async (release: () => void, times: number) => {
    for (let i = 0; i < times; i++) {
      release();
      await tick();
    }
  };
  const transactionIds = (events: RecordedEvent[]) =>
    events.filter((e) => e.type === "transaction_created").map((e) => (e.data as { transactionId: string }).transactionId);
  /** 10 USD paid in, then, a loop turn later (the payment's append still in flight), 4 USD debited */
  async function payThenDebit(chainsAppends: boolean) {
    const gate = gated(chainsAppends);
    const handler = createCommandHandler(gate.wrapped).for(accountDecider, accountStream);
    const first = handler.handle("u1", pay("p1", 10 * USD), ctx("p1"));
    await tick();
    const second = handler.handle("u1", manual("t1", "debit", 4 * USD), ctx("t1"));
    await tick();
    return { ...gate, first, second };
  }
  /** a chaining gated store with 10 USD paid in, this handler, and another instance's handler on the store itself */
  async function funded() {
    const gate = gated(true);
    const handler = createCommandHandler(gate.wrapped).for(accountDecider, accountStream);
    const other = createCommandHandler(gate.store).for(accountDecider, accountStream);
    await Promise.all([handler.handle("u1", pay("p0", 10 * USD), ctx("p0")), tick().then(gate.release)]);
    return { ...gate, handler, other };
  }

  it("chaining store: a command arriving while an append is in flight is decided on the state it leaves and appended behind it at once", async () => {
    const { store, called, release, first, second } = await payThenDebit(true);
    expect(await store.readStream(accountStream("u1"))).toEqual([]); // nothing durable yet
    expect(called).toHaveLength(2); // the second append was made before the first was durable
    expect(called[1]).toEqual({ expected: 1, lastEventId: expect.any(String) }); // behind the first's two events
    release();
    await Promise.all([first, second]);
    const events = await store.readStream(accountStream("u1"));
    expect(called[1]!.lastEventId).toBe(events[1]!.metadata.eventId);
    expect(events.at(-1)!.data).toMatchObject({ balanceAfter: 6 * USD });
    expect(verifyChain(events).ok).toBe(true);
  });

  it("chaining store: when the append in flight conflicts, those behind it fail too and all are decided again, in their order, on the stored state", async () => {
    const { store, handler, other, release } = await funded();
    const debit = async (id: string, amount: number) => {
      const done = handler.handle("u1", manual(id, "debit", amount), ctx(id));
      await tick(); // its own batch, appended behind the one before
      return done;
    };
    const first = debit("t-first", 3 * USD); // decided on 10 USD
    const second = debit("t-second", USD / 2); // on 7 USD, chained
    const third = debit("t-third", (USD * 6) / 10); // on 6.5 USD, chained
    await tick();
    await other.handle("u1", manual("t-other", "debit", 6 * USD), ctx("other")); // another instance moves the stream: 4 USD
    const settled = Promise.allSettled([first, second, third]);
    await releaseEach(release, 5);
    // decided again in their order on 4 USD: 3 → 1 USD left, 0.5 → 0.5 USD left, 0.6 refused (in another order: 0.6 then 0.5 refused)
    const outcomes = await settled;
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "fulfilled", "rejected"]);
    expect(outcomes[2]).toMatchObject({ reason: { code: "ACCOUNT.INSUFFICIENT_FUNDS" } });
    const events = await store.readStream(accountStream("u1"));
    expect(transactionIds(events)).toEqual(["txn_p0", "t-other", "t-first", "t-second"]);
    expect(events.at(-1)!.data).toMatchObject({ balanceAfter: USD / 2 });
    expect(verifyChain(events).ok).toBe(true);
  });

  it("chaining store: batches that fail while the lane waits (past 8 chained) are decided again in their order, before newer commands", async () => {
    const { store, handler, other, release } = await funded();
    const debits: Promise<unknown>[] = [];
    for (let i = 1; i <= 10; i++) {
      debits.push(handler.handle("u1", manual(`t${i}`, "debit", USD), ctx(`t${i}`))); // 1 USD each: all fit the 10 USD
      await tick(); // each its own batch: t1 on the cache, t2…t9 chained, t10 waits for them
    }
    await other.handle("u1", manual("t-other", "debit", (USD * 9) / 2), ctx("other")); // 5.5 USD left
    const settled = Promise.allSettled(debits);
    await releaseEach(release, 10);
    const outcomes = await settled;
    // decided again in their order: t1…t5 fit the 5.5 USD, the rest are refused
    expect(outcomes.map((o) => o.status)).toEqual([...Array(5).fill("fulfilled"), ...Array(5).fill("rejected")]);
    const events = await store.readStream(accountStream("u1"));
    expect(transactionIds(events)).toEqual(["txn_p0", "t-other", "t1", "t2", "t3", "t4", "t5"]);
    expect(verifyChain(events).ok).toBe(true);
  });

  it("lingerMs: a command's events wait for the stream's next command and go in its append; alone, they go after lingerMs", async () => {
    const store = createMemoryEventStore();
    const calls: number[] = [];
    const counting: EventStore = { ...store, append: (...args) => (calls.push(args[1].length), store.append(...args)) };
    const handler = createCommandHandler(counting).for(accountDecider, accountStream);
    await handler.handle("u1", pay("p0", 10 * USD), ctx("p0"));
    let decided = false;
    const held = handler.handle("u1", manual("t1", "debit", USD), { ...ctx("t1"), lingerMs: 60_000, decided: () => (decided = true) });
    await tick();
    expect([decided, calls]).toEqual([true, [2]]); // decided, not appended
    const next = handler.handle("u1", manual("t2", "debit", 2 * USD), ctx("t2")); // decided on the state t1 leaves
    await Promise.all([held, next]);
    expect(calls).toEqual([2, 2]); // t1 and t2 in one append
    expect((await store.readStream(accountStream("u1"))).at(-1)!.data).toMatchObject({ balanceAfter: 7 * USD });

    const alone = handler.handle("u1", manual("t3", "debit", USD), { ...ctx("t3"), lingerMs: 5 });
    await alone; // appended once its linger ran out
    expect(calls).toEqual([2, 2, 1]);
  });

  it("a store that does not chain appends gets one at a time: the next batch waits until the append in flight is durable", async () => {
    const { store, called, release, first, second } = await payThenDebit(false);
    expect(called).toHaveLength(1);
    release();
    await first;
    await tick();
    expect(called).toEqual([{ expected: "no_stream" }, { expected: 1 }]); // decided on the durable state: no lastEventId
    release();
    await second;
    expect((await store.readStream(accountStream("u1"))).at(-1)!.data).toMatchObject({ balanceAfter: 6 * USD });
  });
});
