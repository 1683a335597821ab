import { ConcurrencyError } from "../../domain/event-store.ts";
import type { AppendResult, EventStore, ExpectedRevision, ReadAllOptions } from "../../domain/event-store.ts";
import { usedIdOf, type NewEvent, type RecordedEvent } from "../../domain/events.ts";

// Unit tests only. Mirrors the SQLite adapter: data and metadata are stored as JSON text so a
// caller mutating its objects after append (or after read) never changes what is stored, and
// anything JSON drops (undefined fields) is dropped here too.

interface Row {
  streamName: string;
  revision: number;
  position: number;
  eventId: string;
  type: string;
  data: string;
  metadata: string;
  /** the id the event records once per account (usedIdOf) */
  usedId?: string;
}

const DEFAULT_PAGE = 1000;

const toRecorded = (r: Row): RecordedEvent =>
  ({
    type: r.type,
    data: JSON.parse(r.data),
    metadata: JSON.parse(r.metadata),
    streamName: r.streamName,
    revision: r.revision,
    position: r.position,
  }) as RecordedEvent;

export function createMemoryEventStore(): EventStore {
  const all: Row[] = []; // all[i].position === i + 1
  const streams = new Map<string, Row[]>();
  const ids = new Set<string>();
  const waiters = new Set<() => void>();
  const closing = new AbortController();

  function waitForAppend(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        waiters.delete(done);
        signal.removeEventListener("abort", done);
        closing.signal.removeEventListener("abort", done);
        resolve();
      };
      waiters.add(done);
      signal.addEventListener("abort", done, { once: true });
      closing.signal.addEventListener("abort", done, { once: true });
    });
  }

  function appendNow(stream: string, events: NewEvent[], expected: ExpectedRevision, lastEventId?: string): AppendResult {
    if (closing.signal.aborted) throw new Error("event store is closed");
    if (events.length === 0) throw new Error(`append to ${stream}: no events`);
    const rows = streams.get(stream) ?? [];
    const current = rows.length - 1;
    const actual: ExpectedRevision = current < 0 ? "no_stream" : current;
    const exp = expected === "no_stream" ? -1 : expected;
    // behind an append that failed: the event it names is not the stream's at `expected`
    if (lastEventId !== undefined && rows[exp]?.eventId !== lastEventId) throw new ConcurrencyError(stream, expected, actual);
    const eventIds = events.map((e) => e.metadata.eventId);
    if (exp !== current) {
      // Idempotent retry (EventStoreDB semantics): the ids stored right after `expected` are ours.
      const stored = Number.isInteger(exp) && exp >= -1 ? rows.slice(exp + 1, exp + 1 + eventIds.length) : [];
      const last = stored.at(-1);
      if (last && stored.length === eventIds.length && stored.every((r, i) => r.eventId === eventIds[i])) {
        return { nextExpectedRevision: last.revision, position: last.position };
      }
      throw new ConcurrencyError(stream, expected, actual);
    }
    // An event id is unique in the whole store; reusing one elsewhere is a conflict, not a write.
    if (new Set(eventIds).size !== eventIds.length || eventIds.some((id) => ids.has(id))) {
      throw new ConcurrencyError(stream, expected, actual);
    }
    const added = events.map((e, i): Row => ({
      streamName: stream,
      revision: current + 1 + i,
      position: all.length + 1 + i,
      eventId: e.metadata.eventId,
      type: e.type,
      data: JSON.stringify(e.data),
      metadata: JSON.stringify(e.metadata),
      usedId: usedIdOf(e),
    }));
    for (const r of added) {
      all.push(r);
      rows.push(r);
      ids.add(r.eventId);
    }
    streams.set(stream, rows);
    for (const wake of [...waiters]) wake();
    const last = added[added.length - 1]!;
    return { nextExpectedRevision: last.revision, position: last.position };
  }

  return {
    // appendNow runs when append is called: appends take effect in call order
    chainsAppends: true,
    async append(stream, events, expected, lastEventId) {
      return appendNow(stream, events, expected, lastEventId);
    },
    async readStream(stream, fromRevision = 0) {
      return (streams.get(stream) ?? []).slice(Math.max(0, fromRevision)).map(toRecorded);
    },
    async readAll({ after = 0, maxCount = DEFAULT_PAGE }: ReadAllOptions = {}) {
      const from = Math.max(0, after);
      return all.slice(from, from + maxCount).map(toRecorded);
    },
    async *subscribeToAll(after, signal) {
      let last = Math.max(0, after);
      while (!signal.aborted && !closing.signal.aborted) {
        const row = all[last];
        if (!row) {
          await waitForAppend(signal);
          continue;
        }
        last = row.position;
        yield toRecorded(row);
      }
    },
    async headPosition() {
      return all.length;
    },
    async usedIds(stream, keys) {
      const wanted = new Set(keys);
      return new Set((streams.get(stream) ?? []).flatMap((r) => (r.usedId !== undefined && wanted.has(r.usedId) ? [r.usedId] : [])));
    },
    async close() {
      closing.abort(); // live subscriptions end cleanly
    },
  };
}
