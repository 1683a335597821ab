import type { RecordedEvent } from "../../domain/events.ts";

// The line formats of a replay (GET /events, `aggregator replay`, `aggregator audit export`).
// NDJSON lines carry everything a client needs to resume (`position`) and to re-verify the hash chain
// (`data` and `metadata` exactly as stored: money stays integer micro-USD, as it was hashed).

export type ReplayFormat = "ndjson" | "csv";

export interface EventLine {
  position: number;
  stream: string;
  revision: number;
  type: string;
  data: unknown;
  metadata: RecordedEvent["metadata"];
}

export const toEventLine = (e: RecordedEvent): EventLine => ({
  position: e.position,
  stream: e.streamName,
  revision: e.revision,
  type: e.type,
  data: e.data,
  metadata: e.metadata,
});

export const fromEventLine = (line: EventLine): RecordedEvent =>
  ({ type: line.type, data: line.data, metadata: line.metadata, streamName: line.stream, revision: line.revision, position: line.position }) as RecordedEvent;

export const ndjsonLine = (e: RecordedEvent) => `${JSON.stringify(toEventLine(e))}\n`;

export const CSV_COLUMNS = [
  "position", "stream", "revision", "eventId", "type", "occurredAt", "userId", "actorType", "actorId",
  "correlationId", "causationId", "prevHash", "hash", "data",
] as const;

/** RFC 4180: quote when needed, double the quotes inside */
const cell = (value: unknown): string => {
  const text = value === undefined || value === null ? "" : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

export const csvHeader = () => `${CSV_COLUMNS.join(",")}\r\n`;

export function csvLine(e: RecordedEvent): string {
  const m = e.metadata;
  const userId = (e.data as { userId?: unknown }).userId;
  return `${[
    e.position, e.streamName, e.revision, m.eventId, e.type, m.occurredAt, userId, m.actor?.type, m.actor?.id,
    m.correlationId, m.causationId, m.prevHash, m.hash, JSON.stringify(e.data),
  ].map(cell).join(",")}\r\n`;
}

/** formats one page into one chunk: fewer, larger writes */
export function formatPage(events: readonly RecordedEvent[], format: ReplayFormat): string {
  const line = format === "csv" ? csvLine : ndjsonLine;
  let chunk = "";
  for (const e of events) chunk += line(e);
  return chunk;
}
