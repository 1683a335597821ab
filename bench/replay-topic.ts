// Issue 5 "Measure": replay from the Kafka topic (the `aggregator replay --source kafka` pipeline: read
// without committing offsets, decode, dedupe, filter, NDJSON) vs a raw kafkajs consumer reading the same
// topic in the same run. Target: ratio >= 0.7. Prints tables, never asserts.
//   KAFKA_BROKERS=host:port node --import tsx bench/replay-topic.ts
// BENCH_TOPIC_EVENTS (default 200000) records; BENCH_ROUNDS (default 3) alternating rounds;
// the ratio is the median of per-round ratios.
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { accountStream, type RecordedEvent } from "../domain/events.ts";
import { createKafkaPublisher } from "../infra/kafka/publisher.ts";
import { deleteTopic, rawReadTopic } from "../test/engines/raw-kafka-read.ts";
import { formatPage } from "../application/replay/event-format.ts";
import { topicEventPages } from "../application/replay/topic-replay.ts";
import { openTopicStream } from "../infra/kafka/topic-stream.ts";
import { syntheticAccount } from "../test/fixtures/synthetic.ts";
import { fmt, memoryOf, printMachine, printTable } from "./machine.ts";

const EVENTS = Number(process.env.BENCH_TOPIC_EVENTS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ACCOUNTS = 100;
const brokers = (process.env.KAFKA_BROKERS ?? "").split(",").filter(Boolean);
if (brokers.length === 0) {
  console.error("replay-topic: KAFKA_BROKERS is not set");
  process.exit(2);
}
const topic = `bench-replay-${randomUUID()}`;

async function fill(): Promise<number> {
  const publisher = createKafkaPublisher({ brokers, topic, clientId: "bench-replay", partitions: 3 });
  await publisher.ensureTopic();
  const per = Math.ceil(EVENTS / ACCOUNTS);
  let position = 0;
  const streams = Array.from({ length: ACCOUNTS }, (_, i) =>
    syntheticAccount(`user-${i}`, per, Date.UTC(2026, 0, 1) + i).map(
      (e, revision) => ({ ...e, streamName: accountStream(`user-${i}`), revision, position: 0 }) as RecordedEvent,
    ),
  );
  let sent = 0;
  for (let from = 0; from < per; from += 4) {
    const batch = streams.flatMap((s) => s.slice(from, from + 4)).map((e) => ({ ...e, position: ++position }));
    await publisher.publish(batch);
    sent += batch.length;
  }
  await publisher.close();
  return sent;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timed(run: () => Promise<number>) {
  const t0 = performance.now();
  const events = await run();
  return { events, seconds: (performance.now() - t0) / 1000 };
}

/** the CLI's pipeline, in process, output discarded */
async function replay(): Promise<number> {
  const { pages } = await topicEventPages((o) => openTopicStream({ brokers, topic, ...o }), {});
  let n = 0;
  let bytes = 0;
  for await (const page of pages) {
    bytes += formatPage(page, "ndjson").length;
    n += page.events.length;
  }
  return bytes > 0 ? n : 0;
}

printMachine("replay-topic: aggregator replay --source kafka vs a raw kafkajs consumer");
const t0 = performance.now();
const records = await fill();
console.log(
  `topic ${topic}: ${fmt(records)} records in 3 partitions (synthetic account events), produced in ${fmt((performance.now() - t0) / 1000, 1)} s`,
);

const results: Record<string, number[]> = { raw: [], rawParse: [], replay: [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of [
    ["raw", () => rawReadTopic(brokers, topic).then((r) => r.records)],
    ["rawParse", () => rawReadTopic(brokers, topic, { parse: true }).then((r) => r.records)],
    ["replay", replay],
  ] as const) {
    const r = await timed(run);
    if (r.events !== records) throw new Error(`${name} read ${r.events} of ${records} records`);
    results[name]!.push(r.events / r.seconds);
  }
}
const raw = results.raw!;
// ratio = median of per-round ratios: both readers of a round share whatever load the machine has then
const ratioOf = (rates: number[]) => median(rates.map((r, i) => r / raw[i]!));
const row = (what: string, rates: number[]) => ({
  reader: what,
  "events/s (median)": fmt(median(rates)),
  "rounds (events/s)": rates.map((r) => fmt(r)).join(" / "),
  "ratio vs raw": ratioOf(rates).toFixed(2),
});
console.log(`\n${ROUNDS} rounds, each reading all ${fmt(records)} records from offset 0 to the end (group join included)`);
printTable([
  row("baseline: raw kafkajs consumer (eachBatch, count only)", raw),
  row("diagnostic: raw consumer + JSON.parse of each value", results.rawParse!),
  row("replay --source kafka pipeline (decode, dedupe, filter, NDJSON)", results.replay!),
]);
const ratio = ratioOf(results.replay!);
console.log(`\ntarget: replay/raw >= 0.7 → measured ${ratio.toFixed(2)}: ${ratio >= 0.7 ? "reached" : "NOT reached"}`);
console.log(`peak RSS of this process: ${fmt(memoryOf().peakMb, 1)} MB`);
await deleteTopic(brokers, topic).catch((e: unknown) => console.error(`could not delete topic ${topic}:`, e));
