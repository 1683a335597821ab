import { mkdirSync, watch, type FSWatcher } from "node:fs";
import { open, rm } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import { ConcurrencyError } from "../../domain/event-store.ts";
import type { AppendResult, EventStore, ExpectedRevision, ReadAllOptions } from "../../domain/event-store.ts";
import type { NewEvent, RecordedEvent } from "../../domain/events.ts";
import { usedIdSql } from "../used-ids-sql.ts";

// Guarantees: an append resolves only after its transaction committed with synchronous = FULL
// (WAL fsynced). Writes run in a worker thread (event-writer.worker.mjs) on its own connection, so
// commits and fsyncs never block this event loop; reads run here on a second connection (WAL readers
// see every committed transaction). Group commit: the appends of one loop turn go to the worker as
// one message at the end of the turn, whether or not a commit is running; the worker commits
// everything that has reached it in one immediate transaction (one fsync), each append checked on its
// own savepoint, so a conflict rejects alone. Commits follow one another as fast as the disk allows,
// not as fast as this thread gets round to reading the replies.
// Several processes may open the same file (npm start's projector/relay child, the projector and relay
// apps, the CLI): writes serialize on SQLite's lock (busy_timeout). Subscriptions learn of another
// process's commit at once: it writes the file's WAL, which inotify reports (fs.watch on the folder);
// a poll every POLL_MS is only the backstop.

const USED_ID = usedIdSql((name) => `json_extract(data, '$.${name}')`);
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
CREATE UNIQUE INDEX IF NOT EXISTS events_stream_revision ON events (stream, revision);
CREATE INDEX IF NOT EXISTS events_used_ids ON events (stream, ${USED_ID.key}) WHERE ${USED_ID.types};`;
const COLUMNS = "position, stream, revision, type, data, metadata";
const DEFAULT_PAGE = 1000;
const SUBSCRIPTION_PAGE = 500;
/** a page also ends once its rows hold this much JSON text (at least one row): the domain keeps events
 * small (analytics properties ≤ 16 KiB), but what a page holds in memory must not depend on it */
const PAGE_BYTES = 4 * 2 ** 20;
const POLL_MS = 200;
/** SQLite's page cache per connection, in KiB. better-sqlite3 builds SQLite with 16 MiB; on a database
 * larger than that each connection's cache fills to it and stays (RSS +~20 MB per connection, measured
 * in BENCHMARKS.md, "Memory (issue 13)"). This thread's reads are stream reads the command handler
 * mostly caches and page scans read once; the writer's work is the tail of the tables and the stream
 * index. The OS page cache keeps the file either way: a smaller cache costs a pread, not a disk read. */
export const PAGE_CACHE_KIB = { reader: 2048, writer: 4096 };
/** SQLite's default page size: an append needs at least that much room in the WAL */
const PROBE_BYTES = 4096;
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
  /** the event the stream must hold at `expected` (EventStore.append) */
  lastEventId?: string;
  rows: { eventId: string; type: string; data: string; metadata: string }[];
}
interface Pending extends Append {
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}
type Outcome = { ok: AppendResult } | { conflict: { stream: string; expected: ExpectedRevision; actual: ExpectedRevision } };
/** commitMs: the COMMIT of the transaction (WAL write + fsync), after its rows were written; absent when nothing committed */
type Reply = {
  replies: ({ id: number; outcomes: Outcome[] } | { id: number; error: Error | { message: string; code?: string } })[];
  commitMs?: number;
};

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
  for (const pragma of [
    "journal_mode = WAL",
    "synchronous = FULL",
    "busy_timeout = 5000",
    "temp_store = MEMORY",
    `cache_size = -${PAGE_CACHE_KIB.reader}`,
  ])
    db.pragma(pragma);
  db.exec(SCHEMA); // before the writer starts: it relies on the schema and on WAL

  const byStream = db.prepare<[string, number], Row>(`SELECT ${COLUMNS} FROM events WHERE stream = ? AND revision >= ? ORDER BY revision`);
  const page = db.prepare<[number, number], Row>(`SELECT ${COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?`);
  const head = db.prepare<[], number | null>("SELECT MAX(position) FROM events").pluck();
  // one index probe per key: an IN over json_each(?) of all keys, measured, cost commands ~0.6 ms more
  const used = db
    .prepare<[string, string], number>(`SELECT 1 FROM events WHERE stream = ? AND ${USED_ID.types} AND ${USED_ID.key} = ?`)
    .pluck();

  /** up to `maxCount` rows after `after`, fewer once they hold PAGE_BYTES; `cut`: stopped by bytes */
  function readPage(after: number, maxCount: number): { rows: Row[]; cut: boolean } {
    const rows: Row[] = [];
    let bytes = 0;
    // iterated within this synchronous loop only: leaving it resets the statement (no snapshot stays pinned)
    for (const row of page.iterate(after, maxCount)) {
      rows.push(row);
      bytes += row.data.length + row.metadata.length;
      if (bytes >= PAGE_BYTES) return { rows, cut: rows.length < maxCount };
    }
    return { rows, cut: false };
  }

  let queue: Pending[] = []; // not posted yet
  const inFlight = new Map<number, Pending[]>(); // posted, by batch id, until the writer replies
  let nextId = 1;
  let scheduled = false;
  let closed = false;
  let closingDone: Promise<void> | undefined;
  let writer: Worker | undefined; // started by the first append: read-only users never pay for it
  const closing = new AbortController();
  const waiters = new Set<() => void>();
  const idle = new Set<() => void>();
  const stats = { commits: 0, appends: 0 };
  const wakeAll = () => {
    for (const wake of [...waiters]) wake();
  };
  // Open only while a subscription waits (waitForAppend): a subscriber busy between two waits (the projector
  // applying a batch, lingering) is not woken by commits it will read anyway, and finds them when it next asks.
  let walWatch: FSWatcher | undefined;
  const wal = `${basename(file)}-wal`;

  function startWriter(): Worker {
    // execArgv []: a worker would inherit tsx's --import, which costs ~100 ms and does nothing there
    const w = new Worker(WRITER, { workerData: { file, cacheKib: PAGE_CACHE_KIB.writer }, execArgv: [] });
    let failure: unknown; // the worker's uncaught error, reported before its exit
    w.on("message", settle);
    w.on("error", (err) => (failure = err));
    w.on("exit", (code) => {
      // expected only after close(); a crash fails the batches in flight, the next append restarts it
      if (writer === w) writer = undefined;
      const error = (failure ?? new Error(`event store writer exited with code ${code}`)) as Error;
      if (inFlight.size > 0) settle({ replies: [...inFlight.keys()].map((id) => ({ id, error })) });
    });
    return w;
  }

  function flush(): void {
    scheduled = false;
    if (queue.length === 0) return;
    const id = nextId++;
    inFlight.set(id, queue);
    const batch = queue.map(({ stream, expected, lastEventId, rows }): Append => ({ stream, expected, lastEventId, rows }));
    queue = [];
    writer ??= startWriter();
    writer.ref(); // an append in flight keeps the process alive
    writer.postMessage({ type: "commit", id, batch });
  }

  /** one transaction's outcome, for every batch it carried */
  function settle(reply: Reply): void {
    let committed = 0;
    for (const r of reply.replies) {
      const batch = inFlight.get(r.id) ?? [];
      inFlight.delete(r.id);
      if ("outcomes" in r) {
        committed += batch.length;
        batch.forEach((p, i) => {
          const o = r.outcomes[i]!;
          if ("ok" in o) p.resolve(o.ok);
          else p.reject(new ConcurrencyError(o.conflict.stream, o.conflict.expected, o.conflict.actual));
        });
      } else {
        // nothing committed
        const err =
          r.error instanceof Error ? r.error : Object.assign(new Error(r.error.message), r.error.code ? { code: r.error.code } : {});
        for (const p of batch) p.reject(err);
      }
    }
    if (committed > 0) {
      stats.commits++;
      stats.appends += committed;
      options.onCommit?.(committed, (reply.commitMs ?? 0) / 1000);
      wakeAll();
    }
    if (inFlight.size === 0 && queue.length === 0) {
      writer?.unref();
      for (const done of [...idle]) done();
    }
  }

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    // one message per loop turn, whatever is in flight: per task (a microtask) tripled the messages and
    // the commits under load, and the replies then took the main thread's time from the requests
    setImmediate(flush);
  }

  /** resolves once an event after `after` is stored, by any process; POLL_MS at most */
  function waitForAppend(after: number, signal: AbortSignal): Promise<void> {
    // the folder, not the file: SQLite deletes and recreates the WAL, a watch on the file would go stale
    walWatch ??= watch(dirname(file), { persistent: false }, (_, name) => name === wal && wakeAll()).on("error", () => undefined);
    const unwatch = () => {
      if (waiters.size > 0) return;
      walWatch?.close();
      walWatch = undefined;
    };
    // armed, then looked: a commit made since the subscription's last page (it was not watching) is not missed
    if ((head.get() ?? 0) > after) {
      unwatch();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        unwatch();
        signal.removeEventListener("abort", done);
        closing.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, POLL_MS); // the backstop, should a notification of another process be missed
      waiters.add(done);
      signal.addEventListener("abort", done, { once: true });
      closing.signal.addEventListener("abort", done, { once: true });
    });
  }

  async function shutDown(): Promise<void> {
    flush(); // appends already accepted still commit
    if (inFlight.size > 0 || queue.length > 0)
      await new Promise<void>((resolve) =>
        idle.add(function done() {
          idle.delete(done);
          resolve();
        }),
      );
    closing.abort();
    walWatch?.close();
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
    // one writer thread takes the appends in the order they were called (one message per loop turn, in order)
    chainsAppends: true,
    append(stream: string, events: NewEvent[], expected: ExpectedRevision, lastEventId?: string) {
      if (closed) return Promise.reject(new Error("event store is closed"));
      if (events.length === 0) return Promise.reject(new Error(`append to ${stream}: no events`));
      return new Promise<AppendResult>((resolve, reject) => {
        const rows = events.map((e) => ({
          eventId: e.metadata.eventId,
          type: e.type,
          data: JSON.stringify(e.data),
          metadata: JSON.stringify(e.metadata),
        }));
        queue.push({ stream, expected, lastEventId, rows, resolve, reject });
        schedule();
      });
    },
    async readStream(stream, fromRevision = 0) {
      return byStream.all(stream, fromRevision).map(toRecorded);
    },
    async readAll({ after = 0, maxCount = DEFAULT_PAGE }: ReadAllOptions = {}) {
      return readPage(after, maxCount).rows.map(toRecorded);
    },
    async readAllJson({ after = 0, maxCount = DEFAULT_PAGE }: ReadAllOptions = {}) {
      return readPage(after, maxCount).rows.map((r) => ({
        position: r.position,
        streamName: r.stream,
        revision: r.revision,
        type: r.type,
        data: r.data,
        metadata: r.metadata,
      }));
    },
    async *subscribeToAll(after, signal) {
      let last = after;
      while (!signal.aborted && !closed) {
        const { rows, cut } = readPage(last, SUBSCRIPTION_PAGE);
        for (const row of rows) {
          if (signal.aborted || closed) return;
          last = row.position;
          yield toRecorded(row);
        }
        // a page cut by its bytes is followed by a loop turn: a consumer that batches what is ready
        // without waiting (the projector) ends its batch there, so batches are bounded in bytes too
        if (cut) await new Promise((resolve) => setImmediate(resolve));
        else if (rows.length < SUBSCRIPTION_PAGE) await waitForAppend(last, signal);
      }
    },
    async headPosition() {
      return head.get() ?? 0;
    },
    async usedIds(stream, keys) {
      return new Set(keys.filter((key) => used.get(stream, key) !== undefined));
    },
    // Reads keep working on a full disk (they need no new pages) while every append fails: the probe
    // writes and fsyncs one page beside the database, as the writer's WAL append would, then removes it.
    async checkWritable() {
      const probe = `${file}-ready-probe`;
      try {
        const handle = await open(probe, "w");
        try {
          await handle.write(Buffer.alloc(PROBE_BYTES));
          await handle.sync();
        } finally {
          await handle.close();
        }
      } finally {
        await rm(probe, { force: true });
      }
    },
    close() {
      closed = true; // from now on appends are refused; those accepted before still commit
      return (closingDone ??= shutDown());
    },
  };
}
