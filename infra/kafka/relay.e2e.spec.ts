import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, describe, expect, it } from "vitest";
import { RELAYED_EVENT_TYPES, accountStream, type NewEvent, type RecordedEvent } from "../../domain/events.ts";
import { engineUrl, toolAvailable } from "../../test/engines/require-engine.ts";
import { createMemoryReadStore } from "../memory/read-store.ts";
import { openSqliteEventStore } from "../sqlite/event-store.ts";
import { consumeEvents, readTopic, type TopicRecord } from "./consumer.ts";
import { createKafkaPublisher, type EventPublisher } from "./publisher.ts";
import { relayCheckpointId, runRelay, type RelayStats } from "./relay.ts";
import { checkpoints as checkpointsOf } from "../../projections/checkpoints.ts";

const url = engineUrl("kafka", "KAFKA_BROKERS");
// kcat (Debian package, installed by engines:up) reads the topic raw; REQUIRE_ENGINES=kcat makes it mandatory
const kcat = url ? await toolAvailable("kcat") : false;
const brokers = url?.split(",") ?? [];
const relayedTypes = new Set<string>(RELAYED_EVENT_TYPES);
const dir = mkdtempSync(join(tmpdir(), "relay-e2e-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let seq = 0;
const charge = (userId: string, at: number): NewEvent[] =>
  ["ai_usage", "transaction_created"].map((type) => {
    const n = ++seq;
    return {
      type,
      data: { userId, n },
      metadata: {
        eventId: randomUUID(),
        occurredAt: new Date(at + n).toISOString(),
        actor: { type: "system", id: "e2e" },
        correlationId: `corr-${n}`,
        causationId: `cause-${n}`,
        schemaVersion: 1,
      },
    } as unknown as NewEvent;
  });

async function waitFor(check: () => boolean | Promise<boolean>, ms = 60_000) {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("timed out waiting");
    await sleep(50);
  }
}

/** first occurrence of each ce_id, grouped by stream: must equal the stream's relayed revisions */
function perStream(events: Iterable<RecordedEvent>) {
  const m = new Map<string, number[]>();
  for (const e of events) m.set(e.streamName, [...(m.get(e.streamName) ?? []), e.revision]);
  return m;
}
const dedupe = (records: TopicRecord[]) => {
  const seen = new Set<string>();
  return records.filter((r) => !seen.has(r.id) && seen.add(r.id));
};

describe.skipIf(!url)("relay → Kafka (e2e)", () => {
  /** what the first test published, for the kcat check */
  let published: { topic: string; count: number; byId: Map<string, RecordedEvent> } | undefined;

  it("publishes with keys and CloudEvents headers, at least once across a kill and restart", { timeout: 180_000 }, async () => {
    const store = openSqliteEventStore(join(dir, "events.db"));
    const checkpoints = checkpointsOf(createMemoryReadStore());
    const topic = `relay-e2e-${randomUUID()}`;
    const users = Array.from({ length: 10 }, (_, i) => `user-${i}`);
    const appendCharges = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const userId = users[i % users.length]!;
        const head = (await store.readStream(accountStream(userId))).length - 1;
        const events = charge(userId, Date.UTC(2025, 0, 1));
        if (i % 7 === 0)
          events.unshift({
            ...events[0]!,
            type: "usage_reserved",
            metadata: { ...events[0]!.metadata, eventId: randomUUID() },
          } as NewEvent);
        await store.append(accountStream(userId), events, head < 0 ? "no_stream" : head);
      }
    };
    /** runs a relay until `until` holds, checked after every acknowledged batch and by polling */
    const relayOnce = async (until: (stats: RelayStats, sent: number) => boolean) => {
      const publisher = createKafkaPublisher({ brokers, topic, clientId: "relay-e2e", logLevel: logLevel.ERROR });
      const controller = new AbortController();
      let sent = 0;
      const producer: EventPublisher = {
        topic,
        publish: async (events) => {
          await publisher.publish(events);
          if (until(relay.stats, (sent += events.length))) controller.abort(); // killed mid-stream
        },
      };
      const relay = runRelay({ store, checkpoints, producer, signal: controller.signal, batchSize: 25 });
      await waitFor(() => controller.signal.aborted || until(relay.stats, sent));
      controller.abort();
      await relay.done;
      await publisher.close();
      return relay.stats;
    };

    const setup = createKafkaPublisher({ brokers, topic, clientId: "relay-e2e", logLevel: logLevel.ERROR });
    expect(await setup.ensureTopic()).toBe(true);
    expect(await setup.ensureTopic()).toBe(false);
    await setup.close();
    await appendCharges(300);
    const first = await relayOnce((_, sent) => sent >= 200);
    expect(first.lastPosition).toBeLessThan(await store.headPosition());
    // A crash between ack and checkpoint: rewind the checkpoint so the restart re-publishes.
    await checkpoints.put({ _id: relayCheckpointId(topic), _position: Math.floor(first.lastPosition / 2) });
    await appendCharges(200);
    const head = await store.headPosition();
    await relayOnce((s) => s.lastPosition === head);

    const all = await store.readAll({ maxCount: 1_000_000 });
    const relayed = all.filter((e) => relayedTypes.has(e.type));
    const byId = new Map(relayed.map((e) => [e.metadata.eventId, e]));
    const raw = await readTopic({ brokers, topic });
    expect(raw.length).toBeGreaterThan(relayed.length); // the rewind produced duplicates
    const unique = dedupe(raw);
    expect(unique.map((r) => r.id).sort()).toEqual([...byId.keys()].sort());
    expect(perStream(unique.map((r) => r.event))).toEqual(perStream(relayed)); // in order per account

    const partitionOf = new Map<string, number>();
    for (const r of raw) {
      const e = byId.get(r.id)!;
      expect(r.key).toBe(e.data.userId);
      expect(partitionOf.get(r.key!) ?? r.partition).toBe(r.partition);
      partitionOf.set(r.key!, r.partition);
      expect(r.timestamp).toBe(Date.parse(e.metadata.occurredAt));
      expect(r.event).toEqual(e);
      expect(r.headers).toEqual({
        ce_id: e.metadata.eventId,
        ce_type: e.type,
        ce_source: `/ai-aggregator/${e.streamName}`,
        ce_specversion: "1.0",
        ce_time: e.metadata.occurredAt,
        ce_subject: e.data.userId,
        "content-type": "application/json",
        ce_correlationid: e.metadata.correlationId,
        ce_causationid: e.metadata.causationId,
        ce_position: String(e.position),
      });
    }
    expect(new Set(partitionOf.values()).size).toBeGreaterThan(1);

    // readTopic from a time: every record at or after it, and a limit.
    const middle = relayed[Math.floor(relayed.length / 2)]!;
    const fromTime = Date.parse(middle.metadata.occurredAt);
    const later = dedupe(await readTopic({ brokers, topic, fromTime }));
    expect(
      later
        .filter((r) => r.timestamp >= fromTime)
        .map((r) => r.id)
        .sort(),
    ).toEqual(
      relayed
        .filter((e) => Date.parse(e.metadata.occurredAt) >= fromTime)
        .map((e) => e.metadata.eventId)
        .sort(),
    );
    expect(await readTopic({ brokers, topic, limit: 7 })).toHaveLength(7);

    // A consumer group: exactly once after dedupe on ce_id, offsets committed to the end.
    const seen: TopicRecord[] = [];
    const groupId = `relay-e2e-${randomUUID()}`;
    const controller = new AbortController();
    const consuming = consumeEvents({
      brokers,
      topic,
      groupId,
      fromBeginning: true,
      signal: controller.signal,
      onEvent: async (r) => void seen.push(r),
    });
    await waitFor(() => seen.length >= relayed.length);
    const admin = new Kafka({ brokers, clientId: "relay-e2e", logLevel: logLevel.ERROR }).admin();
    await admin.connect();
    try {
      const ends = await admin.fetchTopicOffsets(topic);
      await waitFor(async () => {
        const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
        return ends.every((p) => committed?.partitions.find((c) => c.partition === p.partition)?.offset === p.high);
      });
      controller.abort();
      await consuming;
      expect(seen).toHaveLength(relayed.length);
      expect(perStream(seen.map((r) => r.event))).toEqual(perStream(relayed));
      const { groups } = await admin.listGroups();
      expect(groups.filter((g) => g.groupId.startsWith("aggregator-read-"))).toEqual([]);
    } finally {
      await admin.disconnect();
    }

    published = { topic, count: raw.length, byId };
    await store.close();
  });

  it.skipIf(!kcat)("kcat reads every record with its key and CloudEvents headers", async () => {
    expect(published).toBeDefined();
    const { topic, count, byId } = published!;
    const { stdout } = await run("kcat", ["-b", brokers.join(","), "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%k %h\n"]);
    const lines = stdout.trim().split("\n");
    expect(lines).toHaveLength(count);
    for (const line of lines) {
      const [key, headers = ""] = line.split(" ");
      const h = Object.fromEntries(headers.split(",").map((kv) => kv.split("=", 2) as [string, string]));
      const e = byId.get(h.ce_id!)!;
      expect(key).toBe(e.data.userId);
      expect(h).toMatchObject({ ce_type: e.type, ce_specversion: "1.0", ce_subject: key, "content-type": "application/json" });
    }
  });
});

const run = promisify(execFile);
