// Streaming read of the event topic for replays: batches as an async iterable with backpressure (a
// slow writer pauses fetching, memory stays bounded). It commits NO offsets: kafkajs needs a group to
// consume, so it joins a throw-away group with autoCommit off, seeks every partition itself (by time or
// to the start) and deletes the group when done. Without `follow` it stops at the end offsets taken
// when it started; with `follow` it runs until the signal aborts.
import { randomUUID } from "node:crypto";
import { Kafka, logLevel } from "kafkajs";
import type { RecordedEvent } from "../../domain/events.ts";
import type { TopicRecord, TopicStream } from "../../application/replay/topic-replay.ts";

// Records are decoded lean: only the value (no headers: ce_id equals metadata.eventId).

export interface TopicStreamOptions {
  brokers: string[];
  topic: string;
  /** ms since epoch: each partition starts at its first record with timestamp >= fromTime */
  fromTime?: number;
  follow?: boolean;
  signal?: AbortSignal;
  clientId?: string;
  /** batches buffered ahead of the reader */
  highWaterMark?: number;
}

export async function openTopicStream(options: TopicStreamOptions): Promise<TopicStream> {
  const { topic, fromTime, follow = false, signal, highWaterMark = 8 } = options;
  const kafka = new Kafka({ clientId: options.clientId ?? "aggregator-replay", brokers: options.brokers, logLevel: logLevel.WARN });
  const admin = kafka.admin();
  await admin.connect();
  let ranges: Map<number, { from: bigint; end: bigint }>;
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const starts =
      fromTime === undefined
        ? ends.map((p) => ({ partition: p.partition, offset: p.low }))
        : await admin.fetchTopicOffsetsByTimestamp(topic, fromTime);
    ranges = new Map(
      ends.map(({ partition, high }) => {
        const from = starts.find((s) => s.partition === partition)?.offset ?? high;
        return [partition, { from: BigInt(from === "-1" ? high : from), end: BigInt(high) }];
      }),
    );
  } catch (error) {
    await admin.disconnect();
    throw error;
  }
  const total = [...ranges.values()].reduce((n, r) => n + Number(r.end > r.from ? r.end - r.from : 0n), 0);
  return { total, batches: batches(kafka, admin, topic, ranges, follow, highWaterMark, signal) };
}

async function* batches(
  kafka: Kafka,
  admin: ReturnType<Kafka["admin"]>,
  topic: string,
  ranges: Map<number, { from: bigint; end: bigint }>,
  follow: boolean,
  highWaterMark: number,
  signal?: AbortSignal,
): AsyncGenerator<TopicRecord[]> {
  const pending = new Set([...ranges].filter(([, r]) => r.from < r.end).map(([p]) => p));
  const groupId = `aggregator-replay-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId });
  const queue: TopicRecord[][] = [];
  let finished = !follow && pending.size === 0;
  let failure: unknown;
  let wake = () => {};
  let room = () => {};
  const finish = () => {
    finished = true;
    wake();
    room();
  };
  signal?.addEventListener("abort", finish, { once: true });
  try {
    if (finished) return;
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) {
        failure = payload.error;
        finish();
      }
    });
    // Seek on every join, not once after run(): on a fresh broker the first join can fail while the
    // group coordinator loads (the consumer restarts), and a restart re-joins with no committed
    // offsets. Each join resumes every partition after the last record handed out.
    const next = new Map([...ranges].map(([p, r]) => [p, r.from]));
    consumer.on(consumer.events.GROUP_JOIN, () => {
      for (const [partition, offset] of next) consumer.seek({ topic, partition, offset: offset.toString() });
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic] });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat }) => {
        const range = ranges.get(batch.partition);
        if (!range || finished) return;
        const records: TopicRecord[] = [];
        for (const m of batch.messages) {
          const offset = BigInt(m.offset);
          if (offset < range.from || (!follow && offset >= range.end) || !m.value) continue;
          const json = m.value.toString("utf8");
          records.push({ event: JSON.parse(json) as RecordedEvent, json });
        }
        if (records.length > 0) {
          queue.push(records);
          wake();
        }
        next.set(batch.partition, BigInt(batch.lastOffset()) + 1n);
        if (!follow && BigInt(batch.lastOffset()) + 1n >= range.end && pending.delete(batch.partition) && pending.size === 0) finish();
        while (queue.length >= highWaterMark && !finished) {
          await new Promise<void>((resolve) => {
            room = resolve;
            setTimeout(resolve, 1000);
          });
          await heartbeat(); // a slow reader must not cost the group its session
        }
      },
    });
    for (;;) {
      while (queue.length === 0 && !finished) await new Promise<void>((resolve) => (wake = resolve));
      if (signal?.aborted) break;
      const next = queue.shift();
      if (queue.length < highWaterMark) room();
      if (next) yield next;
      else break;
    }
    if (failure) throw failure;
  } finally {
    signal?.removeEventListener("abort", finish);
    finished = true;
    room();
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

/** Offsets any consumer group has committed on `topic` (diagnostics: a replay must leave none). */
export async function committedOffsets(
  brokers: string[],
  topic: string,
): Promise<{ groupId: string; partition: number; offset: string }[]> {
  const admin = new Kafka({ clientId: "aggregator-diagnostics", brokers, logLevel: logLevel.WARN }).admin();
  await admin.connect();
  try {
    const { groups } = await admin.listGroups();
    const found = [];
    for (const { groupId } of groups) {
      for (const t of await admin.fetchOffsets({ groupId, topics: [topic] })) {
        for (const p of t.partitions) if (Number(p.offset) >= 0) found.push({ groupId, partition: p.partition, offset: p.offset });
      }
    }
    return found;
  } finally {
    await admin.disconnect();
  }
}
