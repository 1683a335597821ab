import type { EventStore } from "../../domain/event-store.ts";
import type { EventType, RecordedEvent } from "../../domain/events.ts";

// Replay of the event history for analysts: one filter, one matcher, one paged reader, shared by
// GET /events and `aggregator replay --source store`. Memory stays flat: one page at a time.

const TYPES: Record<EventType, true> = {
  payment_processed: true,
  payment_refunded: true,
  transaction_created: true,
  ai_usage: true,
  usage_reserved: true,
  usage_released: true,
  api_key_created: true,
  api_key_revoked: true,
  api_key_name_claimed: true,
  api_key_name_released: true,
  analytics_event_tracked: true,
};
export const EVENT_TYPES = Object.keys(TYPES) as EventType[];
export const isEventType = (t: string): t is EventType => Object.hasOwn(TYPES, t);

export interface EventFilter {
  types?: readonly string[];
  /** events whose data.userId is this user (account, key and analytics streams) */
  userId?: string;
  /** exclusive global position: events with position > after */
  after?: number;
  /** metadata.occurredAt >= from (ISO-8601 or epoch ms) */
  from?: string | number;
  /** metadata.occurredAt < to: half-open, so consecutive windows never overlap */
  to?: string | number;
}

const millis = (t: string | number | undefined) => (t === undefined ? undefined : typeof t === "number" ? t : Date.parse(t));

/**
 * The filter as a predicate. Time is compared on occurredAt, which is also the topic record's
 * timestamp, so the store and the topic select the same events for the same window.
 */
export function eventMatcher(filter: EventFilter): (event: RecordedEvent) => boolean {
  const types = filter.types && filter.types.length > 0 ? new Set(filter.types) : undefined;
  const { userId, after = 0 } = filter;
  const from = millis(filter.from);
  const to = millis(filter.to);
  if (Number.isNaN(from) || Number.isNaN(to)) throw new RangeError("from/to must be ISO-8601 instants");
  return (event) => {
    if (event.position <= after) return false;
    if (types && !types.has(event.type)) return false;
    if (userId !== undefined && (event.data as { userId?: unknown }).userId !== userId) return false;
    if (from === undefined && to === undefined) return true;
    const at = Date.parse(event.metadata.occurredAt);
    return (from === undefined || at >= from) && (to === undefined || at < to);
  };
}

export interface StoreReplayOptions {
  pageSize?: number;
  /** stop at this position (inclusive); default: the head when the replay starts */
  until?: number;
  /** keep tailing new events after the head, until the signal aborts */
  follow?: boolean;
  signal?: AbortSignal;
  /** after each page: last position read and the head captured at the start */
  onPage?: (progress: { position: number; head: number; matched: number }) => void;
}

/**
 * Pages of matching events in global position order. Without `follow` it stops at the head position
 * captured when it started, so a log that keeps growing still gives a finite, reproducible replay;
 * a client resumes with `after` = the last position it received.
 */
export async function* storeEventPages(
  store: EventStore,
  filter: EventFilter,
  options: StoreReplayOptions = {},
): AsyncGenerator<RecordedEvent[]> {
  const { pageSize = 2000, follow = false, signal } = options;
  if (follow && !signal) throw new TypeError("storeEventPages: follow needs a signal to stop it");
  const matches = eventMatcher(filter);
  const head = options.until ?? (await store.headPosition());
  let position = filter.after ?? 0;
  let matched = 0;
  while (!signal?.aborted && (follow || position < head)) {
    const page = await store.readAll({ after: position, maxCount: pageSize });
    if (page.length === 0) break;
    const inRange = follow ? page : page.filter((e) => e.position <= head);
    position = inRange.length === page.length ? page.at(-1)!.position : head;
    const selected = inRange.filter(matches);
    matched += selected.length;
    options.onPage?.({ position, head, matched });
    if (selected.length > 0) yield selected;
    if (page.length < pageSize && !follow) break;
  }
  if (!follow || !signal || signal.aborted) return;
  // live tail: the store's catch-up subscription from where paging stopped
  let batch: RecordedEvent[] = [];
  for await (const event of store.subscribeToAll(position, signal)) {
    position = event.position;
    if (matches(event)) batch.push(event);
    if (batch.length > 0) {
      matched += batch.length;
      options.onPage?.({ position, head: Math.max(head, position), matched });
      yield batch;
      batch = [];
    }
  }
}

/** One event at a time, for callers that do not care about pages. */
export async function* storeEvents(
  store: EventStore,
  filter: EventFilter,
  options: StoreReplayOptions = {},
): AsyncGenerator<RecordedEvent> {
  for await (const page of storeEventPages(store, filter, options)) yield* page;
}
