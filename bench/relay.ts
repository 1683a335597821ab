// Issue 3 "Measure": the relay's throughput, events/s from the SQLite event store to acknowledged on the
// topic (catch-up from position 0: read $all, filter, encode CloudEvents records, send, checkpoint), vs a
// raw kafkajs producer sending the same records, pre-encoded, with the same producer settings (idempotent,
// acks=-1, one request in flight, murmur2 partitioner) and the same batch size, in the same run.
// Target: relay/raw >= 0.6. Prints tables, never asserts. Loopback broker only.
//   KAFKA_BROKERS=127.0.0.1:9092 node --import tsx bench/relay.ts
// BENCH_RELAY_EVENTS (default 50000) events in the store, about half of them relayed; BENCH_ROUNDS (default 3)
// alternating rounds, median taken; each round uses fresh topics (3 partitions) and a fresh checkpoint.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { RELAYED_EVENT_TYPES, type RecordedEvent } from "../domain/events.ts";
import { openRawProducer } from "../test/engines/raw-clients.ts";
import { createKafkaPublisher, toKafkaMessage } from "../infra/kafka/publisher.ts";
import { deleteTopic, rawReadTopic } from "../test/engines/raw-kafka-read.ts";
import { openSqliteEventStore } from "../infra/sqlite/event-store.ts";
import { openSqliteReadStore } from "../infra/sqlite/read-store.ts";
import { startRelay } from "../apps/relay/start.ts";
import { seedSynthetic } from "../test/fixtures/synthetic.ts";
import { fmt, memoryOf, printMachine, printTable } from "./machine.ts";

const EVENTS = Number(process.env.BENCH_RELAY_EVENTS ?? 50_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ACCOUNTS = 100;
const BATCH = 200; // the relay's default batch size (RELAY_BATCH_SIZE)
const brokers = (process.env.KAFKA_BROKERS ?? "").split(",").filter(Boolean);
if (brokers.length === 0) {
  console.error("relay bench: KAFKA_BROKERS is not set");
  process.exit(2);
}
if (!brokers.every((b) => /^(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(b))) {
  console.error(`relay bench: loopback brokers only, got ${brokers.join(",")}`);
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), "bench-relay-"));
const store = openSqliteEventStore(join(dir, "events.db"));
const topics: string[] = [];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function freshTopic(kind: string): Promise<string> {
  const topic = `bench-relay-${kind}-${randomUUID()}`;
  const setup = createKafkaPublisher({ brokers, topic, clientId: "bench-relay-setup" });
  await setup.ensureTopic(); // same partitions and configuration as the relay's own topic
  await setup.close();
  topics.push(topic);
  return topic;
}

/** the relay as npm start runs it (apps/relay/start.ts), from position 0 until its checkpoint is the head */
async function relayRound(head: number): Promise<{ seconds: number; topic: string }> {
  const topic = await freshTopic("relay");
  const readStore = openSqliteReadStore(join(dir, `read-${randomUUID()}.db`)); // checkpoint at 0
  const publisher = createKafkaPublisher({ brokers, topic, clientId: "bench-relay" });
  const controller = new AbortController();
  const t0 = performance.now();
  const relay = await startRelay({ store, readStore, publisher, signal: controller.signal, batchSize: BATCH });
  while (relay.stats.lastPosition < head) await sleep(1);
  const seconds = (performance.now() - t0) / 1000;
  controller.abort();
  await relay.done;
  await publisher.close();
  await readStore.close();
  return { seconds, topic };
}

/** the baseline: the same records, already encoded, sent batch after batch by a bare producer */
async function rawRound(messages: ReturnType<typeof toKafkaMessage>[]): Promise<{ seconds: number; topic: string }> {
  const topic = await freshTopic("raw");
  const t0 = performance.now();
  const producer = await openRawProducer(brokers, "bench-relay-raw");
  for (let i = 0; i < messages.length; i += BATCH) await producer.send(topic, messages.slice(i, i + BATCH));
  const seconds = (performance.now() - t0) / 1000;
  await producer.close();
  return { seconds, topic };
}

printMachine("relay: event store → Kafka through the relay vs a raw kafkajs producer");
const t0 = performance.now();
await seedSynthetic(store, { accounts: ACCOUNTS, eventsPerAccount: Math.ceil(EVENTS / ACCOUNTS) });
const head = await store.headPosition();
const all: RecordedEvent[] = [];
for (
  let page = await store.readAll({ maxCount: 10_000 });
  page.length > 0;
  page = await store.readAll({ after: page.at(-1)!.position, maxCount: 10_000 })
)
  all.push(...page);
const relayed = all.filter((e) => (RELAYED_EVENT_TYPES as readonly string[]).includes(e.type));
const messages = relayed.map(toKafkaMessage);
console.log(
  `event store: ${fmt(head)} events (${ACCOUNTS} accounts, synthetic gateway traffic), ${fmt(relayed.length)} of them relayed ` +
    `(ai_usage, transaction_created); seeded in ${fmt((performance.now() - t0) / 1000, 1)} s; brokers ${brokers.join(",")}`,
);

const rates: Record<"raw" | "relay", number[]> = { raw: [], relay: [] };
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of [
      ["raw", () => rawRound(messages)],
      ["relay", () => relayRound(head)],
    ] as const) {
      const { seconds, topic } = await run();
      const onTopic = (await rawReadTopic(brokers, topic)).records;
      if (onTopic !== relayed.length) throw new Error(`${name}: ${onTopic} records on ${topic}, expected ${relayed.length}`);
      rates[name].push(relayed.length / seconds);
      await deleteTopic(brokers, topic)
        .then(() => topics.splice(topics.indexOf(topic), 1))
        .catch(() => undefined);
    }
  }
  const raw = median(rates.raw);
  const row = (what: string, list: number[]) => ({
    sender: what,
    "events/s (median)": fmt(median(list)),
    "rounds (events/s)": list.map((r) => fmt(r)).join(" / "),
    "ratio vs raw": (median(list) / raw).toFixed(2),
  });
  console.log(
    `\n${ROUNDS} rounds, each sending all ${fmt(relayed.length)} relayed events to a fresh 3-partition topic, batches of ${BATCH}, acks=-1`,
  );
  printTable([
    row("baseline: raw kafkajs producer, records pre-encoded", rates.raw),
    row("relay: SQLite $all → filter → CloudEvents → send → checkpoint", rates.relay),
  ]);
  const ratio = median(rates.relay) / raw;
  console.log(`\ntarget: relay/raw >= 0.6 → measured ${ratio.toFixed(2)}: ${ratio >= 0.6 ? "reached" : "NOT reached"}`);
  console.log(`peak RSS of this process: ${fmt(memoryOf().peakMb, 1)} MB`);
} finally {
  for (const topic of topics) await deleteTopic(brokers, topic).catch((e: unknown) => console.error(`could not delete ${topic}:`, e));
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
