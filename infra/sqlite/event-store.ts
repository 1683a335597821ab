import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import { ConcurrencyError } from "../../domain/event-store.ts";
import type { AppendResult, EventStore, ExpectedRevision, ReadAllOptions } from "../../domain/event-store.ts";
import type { NewEvent, RecordedEvent } from "../../domain/events.ts";

// Guarantees: an append resolves only after its transaction committed with synchronous = FULL
// (WAL fsynced). Writes run in a worker thread (event-writer.worker.mjs) on its own connection, so
// commits and fsyncs never block this event loop; reads run here on a second connection (WAL readers
// see every committed transaction). Group commit: appends issued while no batch is being written go
// to the worker as ONE message and commit in one immediate transaction, each checked on its own
// savepoint, so a conflict rejects alone. One batch is in flight at a time; the next accumulates.
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
const WRITER = new URL("./event-writer.worker.mjs", import.meta.url);

export interface SqliteEventStore extends EventStore {
  readonly file: string;
  /** the main thread's (read) connection, for benchmarks and diagnostics; not part of the port */
  readonly db: Database.Database;
  /** committed group-commit transactions and the appends they carried */
  readonly stats: { readonly commits: number; readonly appends: number };
}

interface Row {
  position: number;
  stream: string;
  revision: number;
  type: string;
  data: string;
  metadata: string;
}
/** one append as posted to the writer */
interface Append {
  stream: string;
  expected: ExpectedRevision;
  rows: { eventId: string; type: string; data: string; metadata: string }[];
}
interface Pending extends Append {
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}
type Outcome = { ok: AppendResult } | { conflict: { stream: string; expected: ExpectedRevision; actual: ExpectedRevision } };
/** commitMs: the COMMIT of the transaction (WAL write + fsync), after its rows were written */
type Reply = { outcomes: Outcome[]; commitMs: number } | { error: { message: string; code?: string } };

export interface SqliteEventStoreOptions {
  /** after each group-commit transaction: how many appends it carried and how long its COMMIT (fsync) took */
  onCommit?: (appends: number, commitSeconds: number) => void;
}

const toRecorded = (r: Row): RecordedEvent =>
  ({
    type: r.type,
    data: JSON.parse(r.data),
    metadata: JSON.parse(r.metadata),
    streamName: r.stream,
    revision: r.revision,
    position: r.position,
  }) as RecordedEvent;

export function openSqliteEventStore(file: string, options: SqliteEventStoreOptions = {}): SqliteEventStore {
  if (file === ":memory:") throw new Error("the SQLite event store needs a file: its writer thread opens a connection of its own");
  mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  for (const pragma of ["journal_mode = WAL", "synchronous = FULL", "busy_timeout = 5000", "temp_store = MEMORY"]) db.pragma(pragma);
  db.exec(SCHEMA); // before the writer starts: it relies on the schema and on WAL

  const byStream = db.prepare<[string, number], Row>(`SELECT ${COLUMNS} FROM events WHERE stream = ? AND revision >= ? ORDER BY revision`);
  const page = db.prepare<[number, number], Row>(`SELECT ${COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?`);
  const head = db.prepare<[], number | null>("SELECT MAX(position) FROM events").pluck();

  let queue: Pending[] = [];
  let inFlight: Pending[] | undefined;
  let scheduled = false;
  let closed = false;
  let closingDone: Promise<void> | undefined;
  let writer: Worker | undefined; // started by the first append: read-only users never pay for it
  const closing = new AbortController();
  const waiters = new Set<() => void>();
  const idle = new Set<() => void>();
  const stats = { commits: 0, appends: 0 };

  function startWriter(): Worker {
    // execArgv []: a worker would inherit tsx's --import, which costs ~100 ms and does nothing there
    const w = new Worker(WRITER, { workerData: { file }, execArgv: [] });
    let failure: unknown;
    w.on("message", (reply: Reply) => settle(reply));
    w.on("error", (err) => (failure = err));
    w.on("exit", (code) => {
      // expected only after close(); a crash fails the batch in flight, the next append restarts it
      if (writer === w) writer = undefined;
      if (inFlight) settle({ failure: failure ?? new Error(`event store writer exited with code ${code}`) });
    });
    return w;
  }

  function flush(): void {
    scheduled = false;
    if (inFlight || queue.length === 0) return; // the reply to the batch in flight schedules the next
    inFlight = queue;
    queue = [];
    writer ??= startWriter();
    writer.ref(); // an append in flight keeps the process alive, as the old setImmediate did
    writer.postMessage({ type: "commit", batch: inFlight.map(({ stream, expected, rows }): Append => ({ stream, expected, rows })) });
  }

  function settle(reply: Reply | { failure: unknown }): void {
    const batch = inFlight ?? [];
    inFlight = undefined;
    if ("outcomes" in reply) {
      stats.commits++;
      stats.appends += batch.length;
      options.onCommit?.(batch.length, reply.commitMs / 1000);
      batch.forEach((p, i) => {
        const o = reply.outcomes[i]!;
        if ("ok" in o) p.resolve(o.ok);
        else p.reject(new ConcurrencyError(o.conflict.stream, o.conflict.expected, o.conflict.actual));
      });
      for (const wake of [...waiters]) wake();
    } else {
      // nothing committed
      const err =
        "failure" in reply
          ? reply.failure
          : Object.assign(new Error(reply.error.message), reply.error.code ? { code: reply.error.code } : {});
      for (const p of batch) p.reject(err);
    }
    // What queued during the commit goes at the end of THIS turn, not now: the continuations of the
    // appends just settled often append again (a request's second event) and join the same batch.
    if (queue.length > 0) schedule();
    else {
      writer?.unref();
      for (const done of [...idle]) done();
    }
  }

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
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

  async function shutDown(): Promise<void> {
    flush(); // appends already accepted still commit
    if (inFlight || queue.length > 0)
      await new Promise<void>((resolve) =>
        idle.add(function done() {
          idle.delete(done);
          resolve();
        }),
      );
    closing.abort();
    const w = writer;
    if (w) {
      const exited = new Promise((resolve) => w.once("exit", resolve));
      w.ref(); // an idle writer is unref'd: without this, close() could leave the process nothing to wait on
      w.postMessage({ type: "close" }); // the writer closes its connection, then its thread ends
      await exited;
    }
    db.close();
  }

  return {
    file,
    get db() {
      return db;
    },
    stats,
    append(stream: string, events: NewEvent[], expected: ExpectedRevision) {
      if (closed) return Promise.reject(new Error("event store is closed"));
      if (events.length === 0) return Promise.reject(new Error(`append to ${stream}: no events`));
      return new Promise<AppendResult>((resolve, reject) => {
        const rows = events.map((e) => ({
          eventId: e.metadata.eventId,
          type: e.type,
          data: JSON.stringify(e.data),
          metadata: JSON.stringify(e.metadata),
        }));
        queue.push({ stream, expected, rows, resolve, reject });
        if (!inFlight) schedule(); // else the reply to the batch in flight schedules it
      });
    },
    async readStream(stream, fromRevision = 0) {
      return byStream.all(stream, fromRevision).map(toRecorded);
    },
    async readAll({ after = 0, maxCount = DEFAULT_PAGE }: ReadAllOptions = {}) {
      return page.all(after, maxCount).map(toRecorded);
    },
    async readAllJson({ after = 0, maxCount = DEFAULT_PAGE }: ReadAllOptions = {}) {
      return page.all(after, maxCount).map((r) => ({
        position: r.position,
        streamName: r.stream,
        revision: r.revision,
        type: r.type,
        data: r.data,
        metadata: r.metadata,
      }));
    },
    // Pages are read with .all(), never .iterate(): an open iterator would pin a read snapshot.
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
    close() {
      closed = true; // from now on appends are refused; those accepted before still commit
      return (closingDone ??= shutDown());
    },
  };
}
