import { setTimeout as sleep } from "node:timers/promises";
import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError,
  excludeSystemEvents,
  jsonEvent,
} from "@eventstore/db-client";
import type { Position, ReadableSubscription, ResolvedEvent, StreamingRead } from "@eventstore/db-client";
import { ConcurrencyError } from "../../domain/event-store.ts";
import type { EventStore, ExpectedRevision } from "../../domain/event-store.ts";
import type { RecordedEvent } from "../../domain/events.ts";
import {
  backoffDelay,
  fromEsdbMetadata,
  fromPortPosition,
  isAfter,
  knownPosition,
  toEsdbMetadata,
  toPortPosition,
  toPortRevision,
} from "./positions.ts";

// Guarantees and pitfalls:
// - Appends always carry an exact expected revision, so a retry with the same event ids at the
//   same expectation is deduplicated deterministically by the server (never use ANY here).
// - An append's position is the commit position of its LAST event (the server reports the last
//   prepare's log position), which equals that event's position in $all.
// - $all reads and subscriptions skip `$`-prefixed system events; positions (commit offsets) are
//   strictly increasing but not dense. Ordering is the log order; see positions.ts for limits.
// - Subscriptions are consumed with for-await (back-pressured, sequential) and reopened from the
//   last yielded position after any failure; the server never resubscribes on its own.

const DEFAULT_PAGE = 1000;
const SCAN_CHUNK = 256;

export interface EsdbEventStoreOptions {
  /** called before each resubscribe delay; use it to log and alert (no events for N minutes) */
  onSubscriptionError?: (error: unknown, attempt: number, delayMs: number) => void;
}

type StoredEvent = NonNullable<ResolvedEvent["event"]>;

/** ours to hand out: not a `$` system event, and JSON (this adapter writes nothing else) */
const isUserEvent = (e: StoredEvent): boolean => e.isJson && !e.type.startsWith("$");

function toRecorded(e: StoredEvent): RecordedEvent {
  return {
    type: e.type,
    data: e.data,
    metadata: fromEsdbMetadata(e.metadata),
    streamName: e.streamId,
    revision: toPortRevision(e.revision),
    position: toPortPosition(e.position),
  } as RecordedEvent;
}

/** the SDK's streams are Node Readables whose async iterator is typed `any` */
const items = <T>(readable: StreamingRead<T> | ReadableSubscription<T>) => readable as AsyncIterable<T>;

const toEsdbExpected = (expected: ExpectedRevision) => (expected === "no_stream" ? NO_STREAM : BigInt(expected));

/** the part of the SDK client this adapter uses (unit tests pass a fake) */
export type EsdbClient = Pick<EventStoreDBClient, "appendToStream" | "readStream" | "readAll" | "subscribeToAll" | "dispose">;

export function openEsdbEventStore(connectionString: string, options: EsdbEventStoreOptions = {}): EventStore {
  return esdbEventStore(EventStoreDBClient.connectionString(connectionString), options);
}

export function esdbEventStore(client: EsdbClient, options: EsdbEventStoreOptions = {}): EventStore {
  const closing = new AbortController();

  async function readStream(stream: string, fromRevision = 0, maxCount?: number): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    try {
      const read = client.readStream(stream, { fromRevision: BigInt(Math.max(0, fromRevision)), direction: FORWARDS, maxCount });
      for await (const item of items(read)) if (item.event) out.push(toRecorded(item.event));
    } catch (err) {
      if (err instanceof StreamNotFoundError) return []; // raised while iterating, not at the call
      throw err;
    }
    return out;
  }

  /** the stream's last revision, for errors raised before the server is asked */
  async function currentRevision(stream: string): Promise<ExpectedRevision> {
    try {
      for await (const item of items(client.readStream(stream, { fromRevision: END, direction: BACKWARDS, maxCount: 1 }))) {
        if (item.event) return toPortRevision(item.event.revision);
      }
    } catch (err) {
      if (!(err instanceof StreamNotFoundError)) throw err;
    }
    return "no_stream";
  }

  /** $all forwards from `from` (inclusive), user events strictly after `after`, up to maxCount */
  async function scanForwards(from: Position | typeof START, after: Position | undefined, maxCount: number) {
    const out: RecordedEvent[] = [];
    let cursor = from;
    let last = after;
    for (;;) {
      let seen = 0;
      for await (const item of items(client.readAll({ fromPosition: cursor, direction: FORWARDS, maxCount: SCAN_CHUNK }))) {
        seen++;
        const e = item.event;
        if (!e?.position || (last && !isAfter(e.position, last))) continue; // the inclusive page boundary
        last = e.position;
        if (isUserEvent(e)) out.push(toRecorded(e));
        if (out.length >= maxCount) return out;
      }
      if (seen < SCAN_CHUNK || !last) return out; // end of $all
      cursor = last;
    }
  }

  async function* subscribe(after: number, signal: AbortSignal): AsyncGenerator<RecordedEvent> {
    const stop = AbortSignal.any([signal, closing.signal]);
    let last = after > 0 ? fromPortPosition(after) : undefined;
    let attempt = 0;
    while (!stop.aborted) {
      const sub = client.subscribeToAll({ fromPosition: last ?? START, filter: excludeSystemEvents() });
      const unsubscribe = () => void sub.unsubscribe().catch(() => undefined);
      stop.addEventListener("abort", unsubscribe, { once: true });
      let failure: unknown = new Error("subscription to $all ended");
      try {
        for await (const item of items(sub)) {
          if (stop.aborted) break; // do not hand out what was buffered before the abort
          const e = item.event;
          if (!e?.position || !isUserEvent(e) || (last && !isAfter(e.position, last))) continue;
          attempt = 0;
          last = e.position;
          yield toRecorded(e);
        }
      } catch (err) {
        failure = err;
      } finally {
        stop.removeEventListener("abort", unsubscribe);
        await sub.unsubscribe().catch(() => undefined); // also runs when the consumer breaks out
      }
      if (stop.aborted) return;
      const delay = backoffDelay(attempt++);
      options.onSubscriptionError?.(failure, attempt, delay);
      await sleep(delay, undefined, { signal: stop }).catch(() => undefined);
    }
  }

  return {
    async append(stream, events, expected) {
      if (events.length === 0) throw new Error(`append to ${stream}: no events`);
      // The server checks ids only against what follows `expected`; a batch repeating an id
      // would be written twice. (Reuse of an id stored elsewhere is NOT detectable here.)
      if (new Set(events.map((e) => e.metadata.eventId)).size !== events.length) {
        throw new ConcurrencyError(stream, expected, await currentRevision(stream));
      }
      const data = events.map((e) =>
        jsonEvent({ id: e.metadata.eventId, type: e.type, data: e.data, metadata: toEsdbMetadata(e.metadata) }),
      );
      try {
        const result = await client.appendToStream(stream, data, { expectedRevision: toEsdbExpected(expected) });
        const nextExpectedRevision = toPortRevision(result.nextExpectedRevision);
        // A deduplicated retry reports its last event's position, or none when the server could
        // not read it back (IdempotentNotReady, -1): then look that event up in the stream.
        const position = knownPosition(result.position) ?? (await readStream(stream, nextExpectedRevision, 1))[0]?.position;
        if (position === undefined) throw new Error(`append to ${stream}: no position for revision ${nextExpectedRevision}`);
        return { nextExpectedRevision, position };
      } catch (err) {
        if (err instanceof WrongExpectedVersionError) {
          const actual = err.actualVersion === NO_STREAM ? "no_stream" : toPortRevision(err.actualVersion);
          throw new ConcurrencyError(stream, expected, actual);
        }
        throw err;
      }
    },

    async readAll({ after = 0, maxCount = DEFAULT_PAGE } = {}) {
      if (maxCount <= 0) return [];
      // Reads from a position are inclusive: start AT `after` and skip it and anything before it.
      return after > 0
        ? scanForwards(fromPortPosition(after), fromPortPosition(after), maxCount)
        : scanForwards(START, undefined, maxCount);
    },

    readStream: (stream, fromRevision) => readStream(stream, fromRevision),
    subscribeToAll: subscribe,

    async headPosition() {
      // The last event may be a system event ($metadata, $stats…): scan back to the last user event.
      let cursor: Position | typeof END = END;
      for (;;) {
        let seen = 0;
        let oldest: Position | undefined;
        for await (const item of items(client.readAll({ fromPosition: cursor, direction: BACKWARDS, maxCount: SCAN_CHUNK }))) {
          seen++;
          const e = item.event;
          if (!e?.position || (cursor !== END && !isAfter(cursor, e.position))) continue;
          if (isUserEvent(e)) return toPortPosition(e.position);
          oldest = e.position;
        }
        if (seen < SCAN_CHUNK || !oldest) return 0;
        cursor = oldest;
      }
    },

    async close() {
      if (closing.signal.aborted) return;
      closing.abort(); // live subscriptions end cleanly before the channel goes away
      await client.dispose();
    },
  };
}
