import { randomUUID } from "node:crypto";
import { UnavailableError } from "@eventstore/db-client";
import { describe, expect, it, vi } from "vitest";
import { ConcurrencyError } from "../../domain/event-store.ts";
import type { EventStore } from "../../domain/event-store.ts";
import type { NewEvent, RecordedEvent } from "../../domain/events.ts";
import { eventStoreContract } from "../../test/contracts/event-store.contract.ts";
import { esdbEventStore } from "./event-store.ts";
import { createFakeEsdb } from "../../test/fakes/fake-esdb-client.ts";

// The adapter's own logic (paging, system events, idempotent positions, resubscribe) over a fake
// SDK client, and the shared EventStore contract over the same fake (with the server's
// `uniqueEventIds: false`). The server's own semantics are the e2e suite's job (event-store.e2e.spec.ts).

eventStoreContract("EventStoreDB adapter over its test double", async () => {
  const fake = createFakeEsdb();
  const opened = [esdbEventStore(fake.client)];
  return {
    store: opened[0]!,
    reopen: async () => opened[opened.push(esdbEventStore(fake.client)) - 1]!, // the fake keeps its log: the "server's" data
    cleanup: async () => void (await Promise.all(opened.map((s) => s.close()))),
    uniqueEventIds: false,
    usedIds: false,
  };
});

const event = (n = 0): NewEvent => ({
  type: "analytics_event_tracked",
  data: { name: `e${n}`, properties: { n }, timestamp: "2025-01-01T00:00:00.000Z" },
  metadata: {
    eventId: randomUUID(),
    occurredAt: "2025-01-01T00:00:00.000Z",
    actor: { type: "system", id: "t" },
    correlationId: "c",
    causationId: "c",
    schemaVersion: 1,
  },
});
const names = (events: RecordedEvent[]) => events.map((e) => (e.data as { name: string }).name);

function setup() {
  const fake = createFakeEsdb();
  const onSubscriptionError = vi.fn();
  return { fake, store: esdbEventStore(fake.client, { onSubscriptionError }), onSubscriptionError };
}

function collect(store: EventStore, after: number) {
  const controller = new AbortController();
  const seen: RecordedEvent[] = [];
  const done = (async () => {
    for await (const e of store.subscribeToAll(after, controller.signal)) seen.push(e);
  })();
  return {
    seen,
    until: (n: number) => vi.waitFor(() => expect(seen.length).toBe(n), { timeout: 5_000, interval: 5 }),
    stop: () => (controller.abort(), done),
  };
}

describe("EventStoreDB adapter over a fake client", () => {
  it("pages $all past the scan chunk, skipping interleaved system events, `after` exclusive", async () => {
    const { fake, store } = setup();
    for (let i = 0; i < 300; i++) {
      if (i % 5 === 0) fake.systemEvent();
      await store.append(`s-${i}`, [event(i)], "no_stream");
    }
    const all = await store.readAll({ maxCount: 1000 });
    expect(names(all)).toEqual(Array.from({ length: 300 }, (_, i) => `e${i}`));
    const pages: RecordedEvent[][] = [];
    for (
      let p = await store.readAll({ maxCount: 128 });
      p.length > 0;
      p = await store.readAll({ after: p.at(-1)!.position, maxCount: 128 })
    )
      pages.push(p);
    expect(pages.map((p) => p.length)).toEqual([128, 128, 44]);
    expect(pages.flat()).toEqual(all);
  });

  it("headPosition is the last user event, past trailing system events; 0 when there is none", async () => {
    const { fake, store } = setup();
    for (let i = 0; i < 300; i++) fake.systemEvent();
    expect(await store.headPosition()).toBe(0);
    const r = await store.append("s", [event(), event()], "no_stream");
    for (let i = 0; i < 300; i++) fake.systemEvent();
    expect(await store.headPosition()).toBe(r.position);
  });

  it("an idempotent retry answered without a position reports the original one", async () => {
    const { fake, store } = setup();
    const events = [event(1), event(2)];
    const original = await store.append("s", events, "no_stream");
    fake.idempotentWithoutPosition = true;
    expect(await store.append("s", events, "no_stream")).toEqual(original);
    expect(await store.append("s", events.slice(1), 0)).toEqual(original);
  });

  it("maps conflicts, and refuses a batch that repeats an event id", async () => {
    const { store } = setup();
    await store.append("s", [event()], "no_stream");
    await expect(store.append("s", [event()], "no_stream")).rejects.toMatchObject({ expected: "no_stream", actual: 0 });
    await expect(store.append("t", [event()], 3)).rejects.toMatchObject({ expected: 3, actual: "no_stream" });
    const e = event();
    await expect(store.append("s", [e, e], 0)).rejects.toBeInstanceOf(ConcurrencyError);
    expect(await store.readStream("s")).toHaveLength(1);
  });

  it("resubscribes after a dropped subscription from the last yielded event, without duplicates", async () => {
    const { fake, store, onSubscriptionError } = setup();
    await store.append("a", [event(1), event(2)], "no_stream");
    const sub = collect(store, 0);
    await sub.until(2);
    fake.dropSubscriptions(new UnavailableError());
    await store.append("a", [event(3)], 1);
    await sub.until(3);
    fake.systemEvent();
    await store.append("b", [event(4)], "no_stream");
    await sub.until(4);
    await sub.stop();
    expect(names(sub.seen)).toEqual(["e1", "e2", "e3", "e4"]);
    expect(onSubscriptionError).toHaveBeenCalledWith(expect.any(UnavailableError), 1, expect.any(Number));
    expect(fake.subscriptionsOpened).toBe(2);
  });

  it("ends on abort even while backing off, and close() ends live subscriptions", async () => {
    const { fake, store } = setup();
    const first = collect(store, 0);
    await vi.waitFor(() => expect(fake.subscriptionsOpened).toBe(1));
    fake.dropSubscriptions(new UnavailableError()); // now sleeping before the retry
    await first.stop();
    const second = collect(store, 0);
    await store.append("s", [event()], "no_stream");
    await second.until(1);
    await store.close();
    await second.stop();
    expect(fake.subscriptionsOpened).toBe(2);
  });
});
