import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { ConcurrencyError } from "../../domain/event-store.ts";
import type { AppendResult, EventStore, ExpectedRevision, ReadAllOptions } from "../../domain/event-store.ts";
import type { NewEvent, RecordedEvent } from "../../domain/events.ts";

// Guarantees: an append resolves only after its transaction committed with synchronous = FULL
// (WAL fsynced). Group commit: appends issued in one event-loop turn share ONE immediate
// transaction; each is checked inside it on its own savepoint, so a conflict rejects alone.
// Several processes may open the same file: writes serialize on SQLite's lock (busy_timeout),
// subscriptions notice foreign writes by polling.

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  position INTEGER PRIMARY KEY AUTOINCREMENT,
  stream TEXT NOT NULL,
  revision INTEGER NOT NULL,
  event_id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  metadata TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS events_stream_revision ON events (stream, revision);`;
const COLUMNS = "position, stream, revision, type, data, metadata";
const DEFAULT_PAGE = 1000;
const SUBSCRIPTION_PAGE = 500;
const POLL_MS = 200;

export interface SqliteEventStore extends EventStore {
  readonly file: string;
  /** raw connection for benchmarks and diagnostics; not part of the port */
  readonly db: Database.Database;
  /** committed group-commit transactions and the appends they carried */
  readonly stats: { readonly commits: number; readonly appends: number };
}

interface Row { position: number; stream: string; revision: number; type: string; data: string; metadata: string }
interface Pending {
  stream: string;
  expected: ExpectedRevision;
  rows: { eventId: string; type: string; data: string; metadata: string }[];
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

const toRecorded = (r: Row): RecordedEvent =>
  ({
    type: r.type, data: JSON.parse(r.data), metadata: JSON.parse(r.metadata),
    streamName: r.stream, revision: r.revision, position: r.position,
  }) as RecordedEvent;

export function openSqliteEventStore(file: string): SqliteEventStore {
  if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("busy_timeout = 5000");
  db.pragma("temp_store = MEMORY"); // savepoint journals of group commits stay off the disk
  db.exec(SCHEMA);

  const currentRevision = db.prepare<[string], number>("SELECT revision FROM events WHERE stream = ? ORDER BY revision DESC LIMIT 1").pluck();
  const storedAfter = db.prepare<[string, number, number], { event_id: string; revision: number; position: number }>(
    "SELECT event_id, revision, position FROM events WHERE stream = ? AND revision > ? ORDER BY revision LIMIT ?");
  const insert = db.prepare("INSERT INTO events (stream, revision, event_id, type, data, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
  const byStream = db.prepare<[string, number], Row>(`SELECT ${COLUMNS} FROM events WHERE stream = ? AND revision >= ? ORDER BY revision`);
  const page = db.prepare<[number, number], Row>(`SELECT ${COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?`);
  const head = db.prepare<[], number | null>("SELECT MAX(position) FROM events").pluck();

  const insertRows = db.transaction((p: Pending, from: number, at: string): AppendResult => {
    let position = 0;
    p.rows.forEach((r, i) => {
      position = Number(insert.run(p.stream, from + i, r.eventId, r.type, r.data, r.metadata, at).lastInsertRowid);
    });
    return { nextExpectedRevision: from + p.rows.length - 1, position };
  });

  function appendOne(p: Pending, at: string): AppendResult | Error {
    const current = currentRevision.get(p.stream) ?? -1;
    const actual: ExpectedRevision = current < 0 ? "no_stream" : current;
    const exp = p.expected === "no_stream" ? -1 : p.expected;
    if (exp !== current) {
      // Idempotent retry (EventStoreDB semantics): the ids stored right after `expected` are ours.
      const stored = Number.isInteger(exp) && exp >= -1 ? storedAfter.all(p.stream, exp, p.rows.length) : [];
      const last = stored.at(-1);
      if (last && stored.length === p.rows.length && stored.every((s, i) => s.event_id === p.rows[i]!.eventId)) {
        return { nextExpectedRevision: last.revision, position: last.position };
      }
      return new ConcurrencyError(p.stream, p.expected, actual);
    }
    try {
      return insertRows(p, current + 1, at); // nested transaction = savepoint: a failure undoes only this append
    } catch (err) {
      // event ids are unique store-wide: reusing one (in another place) is a conflict, not a write
      if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE") return new ConcurrencyError(p.stream, p.expected, actual);
      throw err;
    }
  }

  const commitBatch = db.transaction((batch: Pending[]) => {
    const at = new Date().toISOString();
    return batch.map((p) => appendOne(p, at));
  });

  let queue: Pending[] = [];
  let scheduled = false;
  let closed = false;
  const closing = new AbortController();
  const waiters = new Set<() => void>();
  const stats = { commits: 0, appends: 0 };

  function flush(): void {
    scheduled = false;
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    let outcomes: (AppendResult | Error)[];
    try {
      outcomes = commitBatch.immediate(batch); // IMMEDIATE: take the write lock up front, no upgrade deadlock
    } catch (err) {
      for (const p of batch) p.reject(err); // nothing committed
      return;
    }
    stats.commits++;
    stats.appends += batch.length;
    batch.forEach((p, i) => {
      const o = outcomes[i]!;
      if (o instanceof Error) p.reject(o);
      else p.resolve(o);
    });
    for (const wake of [...waiters]) wake();
  }

  function waitForAppend(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        signal.removeEventListener("abort", done);
        closing.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, POLL_MS); // another process may write the same file
      waiters.add(done);
      signal.addEventListener("abort", done, { once: true });
      closing.signal.addEventListener("abort", done, { once: true });
    });
  }

  return {
    file,
    get db() { return db; },
    stats,
    append(stream: string, events: NewEvent[], expected: ExpectedRevision) {
      if (closed) return Promise.reject(new Error("event store is closed"));
      if (events.length === 0) return Promise.reject(new Error(`append to ${stream}: no events`));
      return new Promise<AppendResult>((resolve, reject) => {
        const rows = events.map((e) => ({ eventId: e.metadata.eventId, type: e.type, data: JSON.stringify(e.data), metadata: JSON.stringify(e.metadata) }));
        queue.push({ stream, expected, rows, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    async readStream(stream, fromRevision = 0) {
      return byStream.all(stream, fromRevision).map(toRecorded);
    },
    async readAll({ after = 0, maxCount = DEFAULT_PAGE }: ReadAllOptions = {}) {
      return page.all(after, maxCount).map(toRecorded);
    },
    async readAllJson({ after = 0, maxCount = DEFAULT_PAGE }: ReadAllOptions = {}) {
      return page.all(after, maxCount).map((r) => ({ position: r.position, streamName: r.stream, revision: r.revision, type: r.type, data: r.data, metadata: r.metadata }));
    },
    // Pages are read with .all(), never .iterate(): an open iterator would block this connection's writes.
    async *subscribeToAll(after, signal) {
      let last = after;
      while (!signal.aborted && !closed) {
        const rows = page.all(last, SUBSCRIPTION_PAGE);
        for (const row of rows) {
          if (signal.aborted || closed) return;
          last = row.position;
          yield toRecorded(row);
        }
        if (rows.length < SUBSCRIPTION_PAGE) await waitForAppend(signal);
      }
    },
    async headPosition() {
      return head.get() ?? 0;
    },
    async close() {
      if (closed) return;
      flush(); // appends already accepted still commit
      closed = true;
      closing.abort();
      db.close();
    },
  };
}
