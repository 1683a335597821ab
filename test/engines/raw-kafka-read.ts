// Benchmark baseline (bench/replay-topic.ts): the plainest kafkajs consumer that reads a topic from
// the start to its current end offsets, counting records (and optionally JSON-parsing their values).
// No backpressure, no decoding into events, no dedupe, no output: what a replay cannot beat.
// Vendor SDKs stay under infra/, so the baseline lives here.
import { randomUUID } from "node:crypto";
import { Kafka, logLevel } from "kafkajs";

export interface RawReadResult {
  records: number;
  bytes: number;
}

export async function rawReadTopic(
  brokers: string[],
  topic: string,
  options: { parse?: boolean; timeoutMs?: number } = {},
): Promise<RawReadResult> {
  const kafka = new Kafka({ clientId: "bench-raw", brokers, logLevel: logLevel.WARN });
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `bench-raw-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId });
  try {
    const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
    const pending = new Set([...ends].filter(([, high]) => high > 0n).map(([p]) => p));
    const result: RawReadResult = { records: 0, bytes: 0 };
    if (pending.size === 0) return result;
    let done = () => {};
    const finished = new Promise<void>((resolve) => (done = resolve));
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          result.records++;
          result.bytes += m.value?.length ?? 0;
          if (options.parse && m.value) JSON.parse(m.value.toString());
        }
        if (BigInt(batch.lastOffset()) + 1n >= ends.get(batch.partition)! && pending.delete(batch.partition) && pending.size === 0) done();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`rawReadTopic ${topic}: timed out`)), options.timeoutMs ?? 300_000);
    });
    await Promise.race([finished, timeout]).finally(() => clearTimeout(timer));
    return result;
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

/** removes a benchmark's topic at the end of its run */
export async function deleteTopic(brokers: string[], topic: string): Promise<void> {
  const admin = new Kafka({ clientId: "bench-cleanup", brokers, logLevel: logLevel.ERROR }).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [topic] });
  } finally {
    await admin.disconnect();
  }
}
