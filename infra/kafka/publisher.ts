// Kafka side of the relay: one idempotent producer writing CloudEvents binary-mode records.
// Conventions: key = account id (Kafka orders only within a partition),
// ce_id = the event id (stable across relay retries, consumers dedupe on it), record timestamp =
// the event's occurredAt on a CreateTime topic that is never compacted.
import { Kafka, Partitioners, logLevel, type Message, type Producer } from "kafkajs";
import type { RecordedEvent } from "../../domain/events.ts";

/** What the relay needs from a broker; tests substitute an in-memory fake that fails on demand. */
export interface EventPublisher {
  readonly topic: string;
  /** resolves only when the broker acknowledged every record (acks = all) */
  publish(events: RecordedEvent[]): Promise<void>;
}

export interface KafkaPublisher extends EventPublisher {
  /** creates the topic when missing; true when it was created */
  ensureTopic(): Promise<boolean>;
  close(): Promise<void>;
}

export interface KafkaPublisherOptions {
  brokers: string[];
  topic: string;
  clientId: string;
  partitions?: number;
  replicationFactor?: number;
  logLevel?: logLevel;
}

/** Partition key: the account the event belongs to, so one account's events stay in order. */
export const eventKey = (event: RecordedEvent): string => {
  const userId = (event.data as { userId?: unknown }).userId;
  return typeof userId === "string" ? userId : event.streamName;
};

export const TOPIC_CONFIG = [
  { name: "retention.ms", value: "-1" },
  { name: "cleanup.policy", value: "delete" },
  { name: "message.timestamp.type", value: "CreateTime" },
] as const;

export function toKafkaMessage(event: RecordedEvent): Message {
  const { type, data, metadata, streamName, revision, position } = event;
  const key = eventKey(event);
  return {
    key,
    value: JSON.stringify({ type, data, metadata, streamName, revision, position }),
    timestamp: String(Date.parse(metadata.occurredAt)),
    headers: {
      ce_id: metadata.eventId,
      ce_type: type,
      ce_source: `/ai-aggregator/${streamName}`,
      ce_specversion: "1.0",
      ce_time: metadata.occurredAt,
      ce_subject: key,
      "content-type": "application/json",
      ce_correlationid: metadata.correlationId,
      ce_causationid: metadata.causationId,
      ce_position: String(position),
      // W3C trace context of the request that caused the event: an analyst's record leads back to its trace
      ...(metadata.traceparent ? { traceparent: metadata.traceparent } : {}),
    },
  };
}

export function createKafkaPublisher(options: KafkaPublisherOptions): KafkaPublisher {
  const { brokers, topic, clientId } = options;
  const kafka = new Kafka({ clientId, brokers, logLevel: options.logLevel ?? logLevel.WARN });
  // Idempotent + one request in flight: the broker dedupes retries within this producer session
  // and cannot reorder batches (kafkajs #598). Across sessions duplicates remain: consumers dedupe.
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner, // murmur2 on the key, Java-compatible
  });
  let connecting: Promise<void> | undefined;
  const connect = () => {
    connecting ??= producer.connect().catch((err: unknown) => {
      connecting = undefined;
      throw err;
    });
    return connecting;
  };

  return {
    topic,
    async ensureTopic() {
      const admin = kafka.admin();
      await admin.connect();
      try {
        // Checked first so an existing topic is not an error in the broker client's log.
        if ((await admin.listTopics()).includes(topic)) return false;
        return await admin.createTopics({
          waitForLeaders: true,
          topics: [
            {
              topic,
              numPartitions: options.partitions ?? 3,
              replicationFactor: options.replicationFactor ?? 1,
              configEntries: TOPIC_CONFIG.map((entry) => ({ ...entry })),
            },
          ],
        });
      } finally {
        await admin.disconnect();
      }
    },
    async publish(events) {
      if (events.length === 0) return;
      await connect();
      await producer.send({ topic, acks: -1, messages: events.map(toKafkaMessage) });
    },
    async close() {
      connecting = undefined;
      await producer.disconnect();
    },
  };
}
