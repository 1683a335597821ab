import type { RecordedEvent } from "../../domain/events.ts";
import { ndjsonLine, type ReplayPage } from "./event-format.ts";
import { eventMatcher, type EventFilter } from "./replay.ts";

// Replay from the Kafka topic: the same filter as the store replay, plus deduplication. The relay
// publishes at least once, so the topic holds duplicates; within a partition one account's records are
// in order (key = account), so a record whose stream revision is not above the last one seen for that
// stream is a re-publish and is skipped. Memory: one number per stream, no set of event ids.
// The topic carries only the relayed types (ai_usage, transaction_created). NDJSON output reuses each
// record's value text when it has exactly the line's fields (no re-serialisation: the hot path).

const LINE_KEYS = "type,data,metadata,streamName,revision,position";

/** One record of the topic, decoded lean: the event and its value text exactly as the relay published it. */
export interface TopicRecord {
  event: RecordedEvent;
  json: string;
}

export interface TopicStream {
  /** records between the start offsets and the end offsets when it opened (the progress total) */
  readonly total: number;
  readonly batches: AsyncIterable<TopicRecord[]>;
}

/** The port (infra/kafka/topic-stream.ts): the topic from `fromTime` (ms), or from its start. */
export type OpenTopic = (options: { fromTime?: number; follow?: boolean; signal?: AbortSignal }) => Promise<TopicStream>;

export interface TopicReplayOptions {
  follow?: boolean;
  signal?: AbortSignal;
  /** after each batch: records read so far (duplicates included) of `total` */
  onBatch?: (progress: { read: number; total: number; matched: number; duplicates: number }) => void;
}

export async function topicEventPages(
  openTopic: OpenTopic,
  filter: EventFilter,
  options: TopicReplayOptions = {},
): Promise<{ total: number; pages: AsyncIterable<ReplayPage> }> {
  const matches = eventMatcher(filter);
  const from = filter.from === undefined ? undefined : typeof filter.from === "number" ? filter.from : Date.parse(filter.from);
  const stream = await openTopic({ fromTime: from, follow: options.follow, signal: options.signal });
  async function* pages(): AsyncGenerator<ReplayPage> {
    const lastRevision = new Map<string, number>();
    let read = 0;
    let matched = 0;
    let duplicates = 0;
    for await (const batch of stream.batches) {
      const page: RecordedEvent[] = [];
      let ndjson = "";
      for (const { event, json } of batch) {
        const last = lastRevision.get(event.streamName);
        if (last !== undefined && event.revision <= last) {
          duplicates++;
          continue;
        }
        lastRevision.set(event.streamName, event.revision);
        if (!matches(event)) continue;
        page.push(event);
        ndjson += Object.keys(event).join(",") === LINE_KEYS ? `${json}\n` : ndjsonLine(event);
      }
      read += batch.length;
      matched += page.length;
      options.onBatch?.({ read, total: stream.total, matched, duplicates });
      if (page.length > 0) yield { events: page, ndjson };
    }
  }
  return { total: stream.total, pages: pages() };
}
