import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ConcurrencyError } from "../../domain/event-store.ts";
import type { EventStore } from "../../domain/event-store.ts";
import type { NewEvent, RecordedEvent } from "../../domain/events.ts";

// The behaviour every EventStore adapter must show. Idempotency follows EventStoreDB: a retry is a
// success returning the ORIGINAL result when the events stored right after its `expected` revision
// carry exactly its event ids, in order — whatever the stream's revision is now. Any other
// mismatch, and any reuse of an event id already stored elsewhere, is a ConcurrencyError.
// Every test runs on a store that may already hold other events (a shared server): its streams
// get a unique prefix, and $all is asserted only after `base`, the head when the test starts.

export interface EventStoreFixture {
  store: EventStore;
  /** close-safe reopen of the same storage (durable adapters); cleanup must close it too */
  reopen?: () => Promise<EventStore>;
  cleanup: () => Promise<void>;
  /** default true: an event id stored anywhere is never accepted again (see "same ids" below) */
  uniqueEventIds?: boolean;
  /** default true: the store offers usedIds (EventStoreDB cannot: its account states keep every id) */
  usedIds?: boolean;
}

let seq = 0;
export function testEvent(userId = "u1", extra: Record<string, unknown> = {}): NewEvent {
  seq++;
  return {
    type: "analytics_event_tracked",
    data: {
      name: `e${seq}`,
      userId,
      timestamp: "2025-01-02T03:04:05.678Z",
      properties: {
        seq,
        big: Number.MAX_SAFE_INTEGER,
        neg: -1_234_567,
        zero: 0,
        nil: null,
        text: "ünï ✓",
        nested: { a: [1, { b: true }], o: {} },
        ...extra,
      },
    },
    metadata: {
      eventId: randomUUID(),
      occurredAt: "2025-01-02T03:04:05.678Z",
      actor: { type: "apiKey", id: "key-1" },
      correlationId: "corr-1",
      causationId: "cause-1",
      idempotencyKey: "idem-1",
      schemaVersion: 1,
      prevHash: "0".repeat(64),
      hash: "f".repeat(64),
    },
  };
}

const ids = (events: { metadata: { eventId: string } }[]) => events.map((e) => e.metadata.eventId);
const conflict = (p: Promise<unknown>, fields: Partial<ConcurrencyError> = {}) =>
  expect(p).rejects.toMatchObject({ code: "EVENT_STORE.CONCURRENCY", ...fields });
function subscribe(store: EventStore, after: number) {
  const controller = new AbortController();
  const seen: RecordedEvent[] = [];
  const done = (async () => {
    for await (const e of store.subscribeToAll(after, controller.signal)) seen.push(e);
  })();
  const waitFor = (n: number) => vi.waitFor(() => expect(seen.length).toBeGreaterThanOrEqual(n), { timeout: 10_000, interval: 10 });
  return { seen, waitFor, stop: async () => (controller.abort(), await done) };
}

/** chainsAppends: the adapter declares EventStore.chainsAppends (its appends take effect in call order) */
export function eventStoreContract(name: string, factory: () => Promise<EventStoreFixture>, { chainsAppends = false } = {}): void {
  describe(`EventStore contract: ${name}`, () => {
    let fx: EventStoreFixture;
    let store: EventStore;
    let base: number; // head of $all before the test: other tests' and other clients' events
    let prefix: string;
    const s = (name: string) => `${prefix}-${name}`; // this test's stream names
    beforeEach(async () => {
      fx = await factory();
      store = fx.store;
      prefix = randomUUID().slice(0, 8);
      base = await store.headPosition();
    });
    afterEach(async () => fx.cleanup());

    it("creates a stream with no_stream and round-trips data and metadata exactly", async () => {
      expect(base === 0).toBe((await store.readAll({ maxCount: 1 })).length === 0); // 0 exactly when empty
      const events = [testEvent(), testEvent()];
      const r = await store.append(s("s-1"), events, "no_stream");
      expect(r.nextExpectedRevision).toBe(1);
      const read = await store.readStream(s("s-1"));
      expect(read).toStrictEqual(events.map((e, i) => ({ ...e, streamName: s("s-1"), revision: i, position: read[i]!.position })));
      expect(read[1]!.position).toBe(r.position);
      expect(read[0]!.position).toBeGreaterThan(base);
      expect(await store.headPosition()).toBe(r.position);
    });

    it("appends only at the exact revision; a conflict reports the actual revision", async () => {
      const first = await store.append(s("s-1"), [testEvent(), testEvent()], "no_stream");
      await conflict(store.append(s("s-1"), [testEvent()], "no_stream"), { stream: s("s-1"), expected: "no_stream", actual: 1 });
      await conflict(store.append(s("s-1"), [testEvent()], 0), { expected: 0, actual: 1 });
      await conflict(store.append(s("s-1"), [testEvent()], 5), { expected: 5, actual: 1 });
      await conflict(store.append(s("s-2"), [testEvent()], 0), { expected: 0, actual: "no_stream" });
      expect(await store.readStream(s("s-2"))).toEqual([]);
      expect(await store.headPosition()).toBe(first.position); // conflicts write nothing
      const r = await store.append(s("s-1"), [testEvent(), testEvent()], 1);
      expect([r.nextExpectedRevision, r.position > first.position]).toEqual([3, true]); // positions may have gaps
      expect((await store.readStream(s("s-1"))).map((e) => e.revision)).toEqual([0, 1, 2, 3]);
      await expect(store.append(s("s-1"), [], 3)).rejects.toThrow(); // an empty append is a bug
    });

    it(`${chainsAppends ? "chains" : "does not claim to chain"} appends`, () => {
      expect(store.chainsAppends === true).toBe(chainsAppends);
    });

    if (chainsAppends)
      it("chained: an append called behind one in flight takes effect after it; lastEventId must be the stream's event at `expected`", async () => {
        const [a, b, c] = [testEvent(), testEvent(), testEvent()];
        const first = store.append(s("s-1"), [a], "no_stream");
        const second = store.append(s("s-1"), [b], 0, a.metadata.eventId); // before the first resolved
        expect((await Promise.all([first, second])).map((r) => r.nextExpectedRevision)).toEqual([0, 1]);
        // behind an append that failed: the revision matches, the event there is not the one it follows
        const failing = store.append(s("s-1"), [testEvent()], 0);
        const behind = store.append(s("s-1"), [c], 1, "an-event-that-never-was");
        await conflict(failing, { expected: 0, actual: 1 });
        await conflict(behind, { expected: 1, actual: 1 });
        expect((await store.readStream(s("s-1"))).map((e) => e.metadata.eventId)).toEqual([a.metadata.eventId, b.metadata.eventId]);
        expect((await store.append(s("s-1"), [c], 1, b.metadata.eventId)).nextExpectedRevision).toBe(2);
      });

    it("a retry with the same ids at the same expected revision returns the original result and writes nothing", async () => {
      const events = [testEvent(), testEvent()];
      const original = await store.append(s("s-1"), events, "no_stream");
      expect(await store.append(s("s-1"), events, "no_stream")).toEqual(original);
      const later = [testEvent()];
      const next = await store.append(s("s-1"), later, 1); // the stream moved on; retries still match
      expect(await store.append(s("s-1"), events, "no_stream")).toEqual(original);
      expect(await store.append(s("s-1"), later, 1)).toEqual(next);
      expect(await store.readStream(s("s-1"))).toHaveLength(3);
      expect(await store.readAll({ after: base })).toHaveLength(3);
    });

    it("same ids at another expected revision: idempotent only when the ids stored after it match", async () => {
      const [a, b] = [testEvent(), testEvent()];
      const r = await store.append(s("s-1"), [a, b], "no_stream");
      expect(await store.append(s("s-1"), [b], 0)).toEqual(r); // b is exactly what follows revision 0
      await conflict(store.append(s("s-1"), [a, b], 0)); // shifted
      await conflict(store.append(s("s-1"), [b, a], "no_stream")); // reordered
      await conflict(store.append(s("s-1"), [a, testEvent()], "no_stream")); // partial
      // EventStoreDB (uniqueEventIds: false) checks ids only against the events after an expected
      // revision that is BEHIND the stream: at the current revision, or in another stream, it
      // writes a reused id again. So these two hold only where ids are unique store-wide.
      if (fx.uniqueEventIds ?? true) {
        await conflict(store.append(s("s-1"), [a], 1)); // id reused at the current revision
        await conflict(store.append(s("s-2"), [a], "no_stream")); // id reused in another stream
      }
      const c = testEvent();
      await conflict(store.append(s("s-3"), [c, c], "no_stream")); // duplicate in one append
      expect(ids(await store.readAll({ after: base }))).toEqual(ids([a, b]));
    });

    it("usedIds names the ids a stream's account events record once (type:id), and only that stream's", async () => {
      if (fx.usedIds === false) return void expect(store.usedIds).toBeUndefined();
      const recorded = (type: string, data: Record<string, unknown>) =>
        ({ ...testEvent(), type, data: { userId: "u1", ...data } }) as NewEvent;
      await store.append(
        s("acct"),
        [
          recorded("transaction_created", {
            transactionId: "t-1",
            amount: 5,
            type: "credit",
            balanceAfter: 5,
            timestamp: "2025-01-02T03:04:05.678Z",
            metadata: {},
          }),
          recorded("ai_usage", { usageId: "u-1" }),
          recorded("usage_reserved", { reservationId: "r-1" }),
          recorded("payment_refunded", { refundId: "f-1", paymentId: "p-1" }),
          recorded("usage_released", { reservationId: "r-2" }),
          testEvent(),
        ],
        "no_stream",
      );
      await store.append(s("other"), [recorded("ai_usage", { usageId: "u-2" })], "no_stream");
      const asked = ["transaction_created:t-1", "ai_usage:u-1", "usage_reserved:r-1", "payment_refunded:f-1"];
      const absent = ["ai_usage:u-2", "usage_reserved:r-2", "transaction_created:u-1", "ai_usage:t-1", "transaction_created:t-9"];
      expect([...(await store.usedIds!(s("acct"), [...asked, ...absent]))].sort()).toEqual([...asked].sort());
      expect([...(await store.usedIds!(s("other"), asked))]).toEqual([]);
      expect([...(await store.usedIds!(s("missing"), asked))]).toEqual([]);
    });

    it("reads a stream in revision order from a revision; a missing stream is []", async () => {
      const events = [testEvent(), testEvent(), testEvent()];
      await store.append(s("s-1"), events.slice(0, 1), "no_stream");
      await store.append(s("other"), [testEvent()], "no_stream");
      await store.append(s("s-1"), events.slice(1), 0);
      expect(ids(await store.readStream(s("s-1")))).toEqual(ids(events));
      expect(ids(await store.readStream(s("s-1"), 1))).toEqual(ids(events.slice(1)));
      expect(await store.readStream(s("s-1"), 3)).toEqual([]);
      expect(await store.readStream(s("missing"))).toEqual([]);
    });

    it("reads $all in strictly increasing positions across streams, paged with after/maxCount", async () => {
      const appended: NewEvent[] = [];
      const revs = new Map<string, number>();
      for (let i = 0; i < 9; i++) {
        const stream = s(`s-${i % 3}`);
        const events = i % 2 ? [testEvent(), testEvent()] : [testEvent()];
        const r = await store.append(stream, events, revs.get(stream) ?? "no_stream");
        revs.set(stream, r.nextExpectedRevision);
        appended.push(...events);
      }
      const all = await store.readAll({ after: base });
      expect(ids(all)).toEqual(ids(appended));
      expect(all[0]!.position).toBeGreaterThan(base);
      all.slice(1).forEach((e, i) => expect(e.position).toBeGreaterThan(all[i]!.position));
      const pages: RecordedEvent[][] = [];
      for (
        let p = await store.readAll({ after: base, maxCount: 4 });
        p.length > 0;
        p = await store.readAll({ after: p.at(-1)!.position, maxCount: 4 })
      )
        pages.push(p);
      expect(pages.map((p) => p.length)).toEqual([4, 4, 4, 1]);
      expect(pages.flat()).toEqual(all);
      expect(ids(await store.readAll({ after: all[2]!.position, maxCount: 3 }))).toEqual(ids(appended.slice(3, 6)));
      expect(await store.headPosition()).toBe(all.at(-1)!.position);
      expect(await store.readAll({ after: all.at(-1)!.position })).toEqual([]);
    });

    it("concurrent appends to one stream at the same revision: exactly one wins", async () => {
      await store.append(s("s-1"), [testEvent()], "no_stream");
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => store.append(s("s-1"), [testEvent(), testEvent()], 0)));
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      for (const r of results) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(ConcurrencyError);
      expect(await store.readStream(s("s-1"))).toHaveLength(3);
    });

    it("concurrent appends to 50 streams all succeed with unique positions", async () => {
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.append(s(`c-${i}`), [testEvent()], "no_stream")));
      const positions = results.map((r) => r.position);
      expect(new Set(positions).size).toBe(50);
      expect(await store.headPosition()).toBe(Math.max(...positions));
      expect((await store.readAll({ after: base })).map((e) => e.position)).toEqual([...positions].sort((x, y) => x - y));
    });

    it("subscribeToAll catches up from the head before the test across pages, then follows live appends in order, and stops on abort", async () => {
      const history = Array.from({ length: 1100 }, () => testEvent());
      for (let i = 0; i < 11; i++) await store.append(s(`h-${i}`), history.slice(i * 100, i * 100 + 100), "no_stream");
      const sub = subscribe(store, base);
      await sub.waitFor(history.length);
      const live = [testEvent(), testEvent(), testEvent()];
      await store.append(s("live-1"), live.slice(0, 2), "no_stream");
      await store.append(s("live-2"), live.slice(2), "no_stream");
      await sub.waitFor(history.length + live.length);
      await sub.stop(); // resolves: abort ends the iteration cleanly
      expect(ids(sub.seen)).toEqual(ids([...history, ...live]));
      expect(sub.seen).toEqual(await store.readAll({ after: base, maxCount: 5000 }));
      const fromMiddle = subscribe(store, sub.seen[1099]!.position);
      await fromMiddle.waitFor(live.length);
      await fromMiddle.stop();
      expect(ids(fromMiddle.seen)).toEqual(ids(live));
    });

    it("a subscription resumes after a restart from a stored position and sees only newer events", async () => {
      const before = [testEvent(), testEvent(), testEvent()];
      await store.append(s("r-1"), before.slice(0, 2), "no_stream");
      const last = await store.append(s("r-2"), before.slice(2), "no_stream");
      const first = subscribe(store, base);
      await first.waitFor(3);
      await first.stop();
      expect(ids(first.seen)).toEqual(ids(before));
      const checkpoint = first.seen.at(-1)!.position;
      expect(checkpoint).toBe(last.position);
      let current = store;
      if (fx.reopen) {
        await store.close();
        current = await fx.reopen();
      }
      expect(await current.headPosition()).toBe(checkpoint);
      expect(ids(await current.readStream(s("r-1")))).toEqual(ids(before.slice(0, 2)));
      const after = [testEvent(), testEvent()];
      await current.append(s("r-1"), after.slice(0, 1), 1);
      await current.append(s("r-3"), after.slice(1), "no_stream");
      const resumed = subscribe(current, checkpoint);
      await resumed.waitFor(2);
      await resumed.stop();
      expect(ids(resumed.seen)).toEqual(ids(after));
      expect(resumed.seen[0]!.position).toBeGreaterThan(checkpoint);
    });
  });
}
