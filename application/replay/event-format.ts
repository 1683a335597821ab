import { stringify } from "csv-stringify/sync";
import type { RecordedEvent } from "../../domain/events.ts";

// The line formats of a replay (GET /events, `aggregator replay`, `aggregator audit export`).
// An NDJSON line is the recorded event as JSON, in the same shape and key order as the record value the
// relay publishes to the topic (infra/kafka/publisher.ts), so one parser reads the HTTP replay, the CLI
// and the topic. It carries what a client needs to resume (`position`) and to re-verify the hash chain
// (`data` and `metadata` exactly as stored: money stays integer micro-USD, as it was hashed).

export type ReplayFormat = "ndjson" | "csv";

export interface EventLine {
  type: string;
  data: unknown;
  metadata: RecordedEvent["metadata"];
  streamName: string;
  revision: number;
  position: number;
}

export const toEventLine = ({ type, data, metadata, streamName, revision, position }: RecordedEvent): EventLine => ({
  type,
  data,
  metadata,
  streamName,
  revision,
  position,
});

export const fromEventLine = (line: EventLine): RecordedEvent => toEventLine(line as RecordedEvent) as RecordedEvent;

export const ndjsonLine = (e: RecordedEvent) => `${JSON.stringify(toEventLine(e))}\n`;

/** A page of a replay; `ndjson` when the source already holds the lines' text (the topic's values). */
export interface ReplayPage {
  events: RecordedEvent[];
  ndjson?: string;
}

export const CSV_COLUMNS = [
  "position",
  "stream",
  "revision",
  "eventId",
  "type",
  "occurredAt",
  "userId",
  "actorType",
  "actorId",
  "correlationId",
  "causationId",
  "prevHash",
  "hash",
  "data",
] as const;

const csvRow = (e: RecordedEvent): unknown[] => {
  const m = e.metadata;
  const userId = (e.data as { userId?: unknown }).userId;
  return [
    e.position,
    e.streamName,
    e.revision,
    m.eventId,
    e.type,
    m.occurredAt,
    userId,
    m.actor?.type,
    m.actor?.id,
    m.correlationId,
    m.causationId,
    m.prevHash,
    m.hash,
    JSON.stringify(e.data),
  ];
};

/** RFC 4180 (csv-stringify): fields with a comma, quote or line break quoted, quotes doubled, CRLF rows */
const csv = (rows: unknown[][]) => stringify(rows, { record_delimiter: "windows" });

export const csvHeader = () => csv([[...CSV_COLUMNS]]);

export const csvLine = (e: RecordedEvent): string => csv([csvRow(e)]);

/** formats one page into one chunk: fewer, larger writes */
export function formatPage(page: readonly RecordedEvent[] | ReplayPage, format: ReplayFormat): string {
  if (!Array.isArray(page)) {
    const { events, ndjson } = page as ReplayPage;
    return format === "ndjson" && ndjson !== undefined ? ndjson : formatPage(events, format);
  }
  const events = page as readonly RecordedEvent[];
  if (format === "csv") return csv(events.map(csvRow));
  let chunk = "";
  for (const e of events) chunk += ndjsonLine(e);
  return chunk;
}
