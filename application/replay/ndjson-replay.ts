import type { EventStore, StoredEventJson } from "../../domain/event-store.ts";
import type { RecordedEvent } from "../../domain/events.ts";
import { formatPage } from "./event-format.ts";
import { eventMatcher, storeEventPages, type EventFilter, type StoreReplayOptions } from "./replay.ts";

// NDJSON replay from the store, the hot path of GET /events and `aggregator replay --source store`.
// Where the store offers readAllJson (SQLite), lines are assembled from the stored JSON text: no parse
// and re-serialise per event; data or metadata is parsed only when a filter needs it (userId, from/to).
// The line is byte-for-byte what JSON.stringify(toEventLine(event)) gives for text the store itself
// wrote with JSON.stringify; the text is passed on verbatim, so a row altered by hand is not re-checked.

export interface ReplayChunk {
  /** events in `text` */
  count: number;
  text: string;
}

export interface NdjsonReplayOptions extends StoreReplayOptions {
  /** stop after this many events */
  limit?: number;
}

const line = (r: StoredEventJson) =>
  `{"type":${JSON.stringify(r.type)},"data":${r.data},"metadata":${r.metadata},"streamName":${JSON.stringify(r.streamName)},"revision":${r.revision},"position":${r.position}}\n`;

/** the row as the matcher sees it: data and metadata parsed on first access only */
function lazyEvent(r: StoredEventJson): RecordedEvent {
  let data: unknown;
  let metadata: unknown;
  return {
    type: r.type,
    streamName: r.streamName,
    revision: r.revision,
    position: r.position,
    get data() {
      return (data ??= JSON.parse(r.data));
    },
    get metadata() {
      return (metadata ??= JSON.parse(r.metadata));
    },
  } as unknown as RecordedEvent;
}

export async function* storeNdjsonChunks(
  store: EventStore,
  filter: EventFilter,
  options: NdjsonReplayOptions = {},
): AsyncGenerator<ReplayChunk> {
  let left = options.limit ?? Number.POSITIVE_INFINITY;
  if (!store.readAllJson || options.follow) {
    for await (const page of storeEventPages(store, filter, options)) {
      const taken = page.length > left ? page.slice(0, left) : page;
      left -= taken.length;
      yield { count: taken.length, text: formatPage(taken, "ndjson") };
      if (left <= 0) return;
    }
    return;
  }
  const { pageSize = 2000, signal } = options;
  // position and type are columns; the full matcher (and any parsing) only when a filter reads data
  const deep = filter.userId !== undefined || filter.from !== undefined || filter.to !== undefined;
  const matches = eventMatcher(filter);
  const types = filter.types && filter.types.length > 0 ? new Set(filter.types) : undefined;
  const keep = (row: StoredEventJson) => (deep ? matches(lazyEvent(row)) : types === undefined || types.has(row.type));
  const head = options.until ?? (await store.headPosition());
  let position = filter.after ?? 0;
  let matched = 0;
  while (position < head && left > 0 && !signal?.aborted) {
    const rows = await store.readAllJson({ after: position, maxCount: pageSize });
    if (rows.length === 0) break;
    let text = "";
    let count = 0;
    for (const row of rows) {
      if (row.position > head || left === 0) {
        position = head;
        break;
      }
      position = row.position;
      if (!keep(row)) continue;
      text += line(row);
      count++;
      left--;
    }
    matched += count;
    options.onPage?.({ position, head, matched });
    if (count > 0) yield { count, text };
    if (rows.length < pageSize) break;
  }
}
