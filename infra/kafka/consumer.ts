// Reading the event topic. Delivery is at-least-once (relay restarts re-publish, rebalances
// redeliver), so `consumeEvents` dedupes on ce_id and commits an offset only after the effect
// resolved (never auto-commit: it commits the penultimate poll). `readTopic` is a one-off read that
// leaves no committed offsets behind (analysts' replay builds on it).
import { randomUUID } from "node:crypto";
import { Kafka, logLevel, type Consumer, type IHeaders, type KafkaMessage } from "kafkajs";
import type { RecordedEvent } from "../../domain/events.ts";

export interface TopicRecord {
  /** ce_id: the event id, identical on every re-publish */
  id: string;
  key: string | null;
  headers: Record<string, string>;
  partition: number;
  offset: string;
  timestamp: number;
  event: RecordedEvent;
}

/** Processed-id store shared by consumer instances; write it with the effect (inbox pattern). */
export interface SeenStore {
  has(id: string): Promise<boolean>;
  add(id: string): Promise<void>;
}

export interface ConsumeOptions {
  brokers: string[];
  topic: string;
  groupId?: string;
  clientId?: string;
  fromBeginning: boolean;
  onEvent(record: TopicRecord): Promise<void>;
  signal: AbortSignal;
  seen?: SeenStore;
}

const headerText = (value: IHeaders[string]): string | undefined => {
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
};

export function decodeRecord(partition: number, message: KafkaMessage): TopicRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    const text = headerText(value);
    if (text !== undefined) headers[name] = text;
  }
  const event = JSON.parse(message.value?.toString() ?? "null") as RecordedEvent;
  return {
    id: headers.ce_id ?? event.metadata.eventId,
    key: message.key?.toString() ?? null,
    headers,
    partition,
    offset: message.offset,
    timestamp: Number(message.timestamp),
    event,
  };
}

const client = (brokers: string[], clientId: string) => new Kafka({ clientId, brokers, logLevel: logLevel.WARN });

/** rejects when kafkajs gives up on a consumer (a crash it will not restart from) */
function crashOf(consumer: Consumer): Promise<never> {
  const crashed = new Promise<never>((_, reject) => {
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) reject(payload.error);
    });
  });
  crashed.catch(() => undefined);
  return crashed;
}

const abortOf = (signal: AbortSignal) =>
  new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));

/** Runs until the signal aborts; rejects if the consumer crashes for good. */
export async function consumeEvents(options: ConsumeOptions): Promise<void> {
  const { topic, signal, seen } = options;
  const kafka = client(options.brokers, options.clientId ?? "aggregator-consumer");
  const consumer = kafka.consumer({ groupId: options.groupId ?? `aggregator-${randomUUID()}` });
  const processed = new Set<string>();
  const crashed = crashOf(consumer);
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: options.fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const record = decodeRecord(partition, message);
        if (!processed.has(record.id) && !(await seen?.has(record.id))) {
          await options.onEvent(record);
          processed.add(record.id);
          await seen?.add(record.id);
        }
        const next = (BigInt(message.offset) + 1n).toString();
        await consumer.commitOffsets([{ topic, partition, offset: next }]);
      },
    });
    await Promise.race([abortOf(signal), crashed]);
  } finally {
    await consumer.disconnect();
  }
}

export interface ReadTopicOptions {
  brokers: string[];
  topic: string;
  /** ms since epoch: start at the first record with timestamp >= fromTime */
  fromTime?: number;
  limit?: number;
  timeoutMs?: number;
}

/** Reads the topic from `fromTime` (or the start) up to its current end; commits nothing. */
export async function readTopic(options: ReadTopicOptions): Promise<TopicRecord[]> {
  const { topic, fromTime, limit = Number.POSITIVE_INFINITY } = options;
  const kafka = client(options.brokers, "aggregator-read-topic");
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `aggregator-read-${randomUUID()}`;
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const starts =
      fromTime === undefined
        ? ends.map((p) => ({ partition: p.partition, offset: p.low }))
        : await admin.fetchTopicOffsetsByTimestamp(topic, fromTime);
    /** partition -> next offset to read and the end (exclusive) */
    const todo = new Map<number, { next: bigint; end: bigint }>();
    for (const { partition, high } of ends) {
      const next = BigInt(starts.find((s) => s.partition === partition)?.offset ?? high);
      if (next < BigInt(high)) todo.set(partition, { next, end: BigInt(high) });
    }
    if (todo.size === 0 || limit <= 0) return [];

    const records: TopicRecord[] = [];
    const consumer = kafka.consumer({ groupId });
    const crashed = crashOf(consumer);
    const controller = new AbortController();
    // Seek on every join: kafkajs restarts a consumer after a retriable crash (e.g. the coordinator
    // is still loading) and forgets earlier seeks; `next` makes a restart resume, not repeat.
    consumer.on(consumer.events.GROUP_JOIN, () => {
      for (const [partition, { next }] of todo) consumer.seek({ topic, partition, offset: next.toString() });
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic] });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const range = todo.get(partition);
          const offset = BigInt(message.offset);
          if (!range || offset < range.next || records.length >= limit) return;
          records.push(decodeRecord(partition, message));
          range.next = offset + 1n;
          if (range.next >= range.end) todo.delete(partition);
          if (todo.size === 0 || records.length >= limit) controller.abort();
        },
      });
      const timeoutMs = options.timeoutMs ?? 30_000;
      const timer = setTimeout(() => controller.abort(new Error(`readTopic ${topic}: timed out after ${timeoutMs} ms`)), timeoutMs);
      await Promise.race([abortOf(controller.signal), crashed]).finally(() => clearTimeout(timer));
      if (todo.size > 0 && records.length < limit) throw controller.signal.reason;
    } finally {
      await consumer.disconnect();
    }
    return records;
  } finally {
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}
