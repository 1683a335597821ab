import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RELAYED_EVENT_TYPES, type RecordedEvent } from "../../domain/events.ts";
import { engineUrl } from "../../test/engines/require-engine.ts";
import { createKafkaPublisher } from "../../infra/kafka/publisher.ts";
import { runRelay } from "../../infra/kafka/relay.ts";
import { committedOffsets, openTopicStream } from "../../infra/kafka/topic-stream.ts";
import { createMemoryReadStore } from "../../infra/memory/read-store.ts";
import { openSqliteEventStore } from "../../infra/sqlite/event-store.ts";
import { fromEventLine, type EventLine } from "../../application/replay/event-format.ts";
import { topicEventPages } from "../../application/replay/topic-replay.ts";
import { runCli } from "../../test/harness/cli.ts";
import { seedSynthetic, syntheticAccount } from "../../test/fixtures/synthetic.ts";
import { checkpoints } from "../../projections/checkpoints.ts";

// Done-when: replay from the topic from time T returns exactly the events after T, in order per
// account; replay from the store and from the topic give the same events. Real Kafka, real CLI.

const url = engineUrl("kafka", "KAFKA_BROKERS");
const brokers = url?.split(",") ?? [];
const dir = mkdtempSync(join(tmpdir(), "replay-e2e-"));
const topic = `replay-e2e-${randomUUID()}`;
const START = Date.UTC(2026, 4, 1);
const T = new Date(START + 10_500).toISOString();
const env = { DATA_DIR: dir, KAFKA_BROKERS: url ?? "", KAFKA_TOPIC: topic };
let stored: RecordedEvent[];

/** relays the whole store once; a fresh checkpoint each time, so a second pass re-publishes all */
async function relayAll(store: ReturnType<typeof openSqliteEventStore>) {
  const publisher = createKafkaPublisher({ brokers, topic, clientId: "replay-e2e", partitions: 3 });
  await publisher.ensureTopic();
  const stop = new AbortController();
  const relay = runRelay({
    store,
    checkpoints: checkpoints(createMemoryReadStore()),
    producer: publisher,
    signal: stop.signal,
    batchSize: 50,
  });
  const head = await store.headPosition();
  for (const until = Date.now() + 60_000; relay.stats.lastPosition < head && Date.now() < until;) await sleep(50);
  stop.abort();
  await relay.done;
  await publisher.close();
  expect(relay.stats.lastPosition).toBe(head);
}

const lines = (text: string) =>
  text
    .split("\n")
    .filter(Boolean)
    .map((l) => fromEventLine(JSON.parse(l) as EventLine));
const perStream = (events: RecordedEvent[]) => {
  const m = new Map<string, string[]>();
  for (const e of events) m.set(e.streamName, [...(m.get(e.streamName) ?? []), e.metadata.eventId]);
  return m;
};

beforeAll(async () => {
  if (!url) return;
  const store = openSqliteEventStore(join(dir, "events.db"));
  await seedSynthetic(store, { accounts: 6, eventsPerAccount: 81, startMs: START, chunk: 20 });
  await relayAll(store);
  await relayAll(store); // at-least-once: every record is now in the topic twice
  stored = await store.readAll({ after: 0, maxCount: 100_000 });
  await store.close();
}, 180_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!url)("aggregator replay (Kafka e2e)", () => {
  it("--source kafka --from-time T: exactly the relayed events at or after T, once each, in order per account; commits nothing", async () => {
    const run = await runCli(["replay", "--source", "kafka", "--from-time", T], env);
    expect(run.code, run.stderr).toBe(0);
    const replayed = lines(run.stdout);
    const expected = stored.filter((e) => RELAYED_EVENT_TYPES.includes(e.type) && e.metadata.occurredAt >= T);
    expect(expected.length).toBeGreaterThan(100);
    expect(stored.some((e) => e.metadata.occurredAt < T)).toBe(true);
    expect(replayed.map((e) => e.metadata.eventId).sort()).toEqual(expected.map((e) => e.metadata.eventId).sort());
    for (const [, ids] of perStream(replayed))
      expect(ids).toEqual(expected.filter((e) => ids.includes(e.metadata.eventId)).map((e) => e.metadata.eventId));
    expect(run.stderr).toMatch(/replayed \d+ events/);
    expect(await committedOffsets(brokers, topic)).toEqual([]);
  });

  it("the store and the topic replay the same events (NDJSON and CSV)", async () => {
    const args = ["--from-time", T, "--types", "ai_usage,transaction_created", "--user", "user-2"];
    const [fromStore, fromTopic] = await Promise.all([
      runCli(["replay", "--source", "store", ...args], env),
      runCli(["replay", "--source", "kafka", ...args], env),
    ]);
    expect(fromStore.code, fromStore.stderr).toBe(0);
    expect(fromTopic.code, fromTopic.stderr).toBe(0);
    expect(lines(fromStore.stdout).length).toBeGreaterThan(10); // user-2's charges after T: not an empty match
    expect(perStream(lines(fromTopic.stdout))).toEqual(perStream(lines(fromStore.stdout)));
    expect(lines(fromTopic.stdout)).toEqual(lines(fromStore.stdout)); // one account: one partition, same order
    expect(fromTopic.stdout).toBe(fromStore.stdout); // byte for byte: the topic's values are the store's lines
    const csv = await Promise.all(
      ["store", "kafka"].map((source) => runCli(["replay", "--source", source, ...args, "--format", "csv"], env)),
    );
    expect(csv[1]!.stdout).toBe(csv[0]!.stdout);
    expect(csv[0]!.stdout.split("\r\n")[0]).toMatch(/^position,stream,revision,eventId,type,occurredAt/);
  });

  it("--follow keeps reading records published after it started, until aborted", async () => {
    const stop = new AbortController();
    const { pages } = await topicEventPages(
      (o) => openTopicStream({ brokers, topic, ...o }),
      { types: ["ai_usage"], userId: "late-user" },
      { follow: true, signal: stop.signal },
    );
    const seen: RecordedEvent[] = [];
    const reading = (async () => {
      for await (const page of pages) {
        seen.push(...page.events);
        if (seen.length >= 3) stop.abort();
      }
    })();
    const publisher = createKafkaPublisher({ brokers, topic, clientId: "replay-e2e-late" });
    const late = syntheticAccount("late-user", 13, Date.now()).map(
      (e, i) => ({ ...e, streamName: "account-late-user", revision: i, position: 100_000 + i }) as RecordedEvent,
    );
    await sleep(1000);
    await publisher.publish(late);
    await publisher.close();
    await reading;
    expect(seen.map((e) => e.metadata.eventId)).toEqual(late.filter((e) => e.type === "ai_usage").map((e) => e.metadata.eventId));
  });
});
