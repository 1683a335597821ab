import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import type { EventStore } from "../../domain/event-store.ts";
import { RELAYED_EVENT_TYPES, accountStream, type NewEvent, type RecordedEvent } from "../../domain/events.ts";
import type { Collection, Doc } from "../../projections/read-store.ts";
import { createMemoryEventStore } from "../memory/event-store.ts";
import { createMemoryReadStore } from "../memory/read-store.ts";
import type { EventPublisher } from "./publisher.ts";
import { newRelayStats, relayCheckpointId, runRelay, type Relay } from "./relay.ts";
import { checkpoints as checkpointsOf } from "../../projections/checkpoints.ts";

const TOPIC = "test.events";
const relayedTypes = new Set<string>(RELAYED_EVENT_TYPES);
const fast = { batchSize: 8, lingerMs: 2, backoff: { initialMs: 1, maxMs: 20 } };

/** deterministic PRNG (mulberry32) so a failure replays */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let seq = 0;
function event(type: string, userId: string, data: Record<string, unknown> = {}): NewEvent {
  const n = ++seq;
  return {
    type,
    data: { userId, ...data },
    metadata: {
      eventId: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
      occurredAt: new Date(Date.UTC(2025, 0, 1) + n * 1000).toISOString(),
      actor: { type: "system", id: "test" },
      correlationId: `corr-${n}`,
      causationId: `cause-${n}`,
      schemaVersion: 1,
    },
  } as NewEvent;
}

/** appends a usage charge (ai_usage + transaction_created), sometimes behind a non-relayed hold */
async function appendCharges(store: EventStore, rand: () => number, users: string[], count: number) {
  for (let i = 0; i < count; i++) {
    const userId = users[Math.floor(rand() * users.length)]!;
    const stream = accountStream(userId);
    const events = [event("ai_usage", userId, { cost: 10 }), event("transaction_created", userId, { amount: -10 })];
    if (rand() < 0.2) events.unshift(event("usage_reserved", userId, { amount: 10 }));
    const head = (await store.readStream(stream)).length - 1;
    await store.append(stream, events, head < 0 ? "no_stream" : head);
  }
}

/** A broker that refuses 5% of sends and stores-then-loses the ack of 1% more. */
function flakyPublisher(rand: () => number, failRate = 0.05, lostAckRate = 0.01) {
  const delivered: RecordedEvent[] = [];
  const acked = new Set<string>();
  const publisher: EventPublisher = {
    topic: TOPIC,
    async publish(events) {
      if (rand() < 0.3) await sleep(rand() * 2); // leaves sends in flight when a relay is aborted
      const r = rand();
      if (r < failRate) throw new Error("broker: not enough replicas");
      delivered.push(...events);
      if (r < failRate + lostAckRate) throw new Error("broker: request timed out (ack lost)");
      for (const e of events) acked.add(e.metadata.eventId);
    },
  };
  return { publisher, delivered, acked };
}

/** checkpoint writes are checked against what the broker acknowledged at that moment */
function guardedCheckpoints(inner: Collection, store: EventStore, acked: Set<string>, violations: string[]) {
  const guarded: Pick<Collection, "name" | "get" | "put"> = {
    name: inner.name,
    get: (id) => inner.get(id),
    async put(doc: Doc) {
      for (const e of await store.readAll({ maxCount: doc._position })) {
        if (relayedTypes.has(e.type) && !acked.has(e.metadata.eventId)) {
          violations.push(`checkpoint ${doc._position} ahead of unacknowledged ${e.position}`);
        }
      }
      return inner.put(doc);
    },
  };
  return guarded as Collection; // the relay uses only get and put
}

async function waitFor(check: () => Promise<boolean>, ms = 20_000) {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("timed out waiting");
    await sleep(5);
  }
}

function expectDeliveredOnceInOrder(all: RecordedEvent[], delivered: RecordedEvent[]) {
  const relayed = all.filter((e) => relayedTypes.has(e.type));
  const firstSeen = new Map<string, RecordedEvent>();
  for (const e of delivered) if (!firstSeen.has(e.metadata.eventId)) firstSeen.set(e.metadata.eventId, e);
  expect(delivered.every((e) => relayedTypes.has(e.type))).toBe(true);
  expect(relayed.filter((e) => !firstSeen.has(e.metadata.eventId))).toEqual([]);
  // After dedupe, each account's events arrive exactly in stream order: no reordering, no gaps.
  const byStream = (events: Iterable<RecordedEvent>) => {
    const m = new Map<string, number[]>();
    for (const e of events) m.set(e.streamName, [...(m.get(e.streamName) ?? []), e.revision]);
    return m;
  };
  expect(byStream(firstSeen.values())).toEqual(byStream(relayed));
  return { relayed: relayed.length, delivered: delivered.length, duplicates: delivered.length - firstSeen.size };
}

describe("relay (in-memory store, flaky broker)", () => {
  it("delivers 2,000 events at least once, in order per account, across restarts", async () => {
    const rand = prng(20250101);
    const store = createMemoryEventStore();
    const readStore = createMemoryReadStore();
    const users = Array.from({ length: 20 }, (_, i) => `user-${i}`);
    const broker = flakyPublisher(rand);
    const violations: string[] = [];
    const checkpoints = guardedCheckpoints(checkpointsOf(readStore), store, broker.acked, violations);
    const stats = newRelayStats();
    const start = (controller = new AbortController()) => ({
      controller,
      relay: runRelay({ store, checkpoints, producer: broker.publisher, signal: controller.signal, stats, ...fast }),
    });

    await appendCharges(store, rand, users, 400);
    let running = start();
    for (let round = 0; round < 8; round++) {
      await appendCharges(store, rand, users, 75);
      await sleep(rand() * 8);
      running.controller.abort(); // killed mid-stream: unacknowledged and unsent events come again
      await running.relay.done;
      running = start();
    }
    const head = await store.headPosition();
    await waitFor(async () => (await checkpoints.get(relayCheckpointId(TOPIC)))?._position === head);
    running.controller.abort();
    await running.relay.done;

    const result = expectDeliveredOnceInOrder(await store.readAll({ maxCount: head }), broker.delivered);
    expect(result.relayed).toBe(2000);
    expect(violations).toEqual([]);
    expect(stats.sendFailures).toBeGreaterThan(0);
    expect(stats.lastPosition).toBe(head);
    console.info(`relay B6-lite: ${JSON.stringify({ ...result, sendFailures: stats.sendFailures })}`);
  });

  it("resubscribes from the checkpoint when the subscription fails", async () => {
    const store = createMemoryEventStore();
    await appendCharges(store, prng(7), ["a", "b", "c"], 300);
    let failuresLeft = 3;
    const failing: EventStore = {
      ...store,
      async *subscribeToAll(after, signal) {
        let n = 0;
        for await (const e of store.subscribeToAll(after, signal)) {
          if (failuresLeft > 0 && ++n === 50) {
            failuresLeft--;
            throw new Error("connection reset");
          }
          yield e;
        }
      },
    };
    const broker = flakyPublisher(prng(8), 0, 0);
    const checkpoints = checkpointsOf(createMemoryReadStore());
    const controller = new AbortController();
    const relay: Relay = runRelay({ store: failing, checkpoints, producer: broker.publisher, signal: controller.signal, ...fast });
    const head = await store.headPosition();
    await waitFor(async () => relay.stats.lastPosition === head).finally(() => controller.abort());
    await relay.done;
    expectDeliveredOnceInOrder(await store.readAll({ maxCount: head }), broker.delivered);
    expect(relay.stats.subscriptionErrors).toBe(3);
    expect(await checkpoints.get(relayCheckpointId(TOPIC))).toMatchObject({ _id: "relay:test.events", _position: head });
  });

  it("keeps resending the same batch while the broker is down, and never checkpoints", async () => {
    const store = createMemoryEventStore();
    await appendCharges(store, prng(9), ["a"], 5);
    const sends: string[][] = [];
    let down = true;
    const producer: EventPublisher = {
      topic: TOPIC,
      async publish(events) {
        sends.push(events.map((e) => e.metadata.eventId));
        if (down) throw new Error("broker down");
      },
    };
    const checkpoints = checkpointsOf(createMemoryReadStore());
    const controller = new AbortController();
    const relay = runRelay({ store, checkpoints, producer, signal: controller.signal, ...fast });
    await waitFor(async () => sends.length >= 6);
    expect(await checkpoints.get(relayCheckpointId(TOPIC))).toBeNull();
    expect(new Set(sends.map((s) => s.join())).size).toBe(1);
    down = false;
    const head = await store.headPosition();
    await waitFor(async () => (await checkpoints.get(relayCheckpointId(TOPIC)))?._position === head);
    controller.abort();
    await relay.done;
    expect(relay.stats).toMatchObject({ published: 10, lastPosition: head });
  });
});
