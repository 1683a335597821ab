// @ts-check
// The write side of the SQLite event store (infra/sqlite/event-store.ts), in a worker thread so that
// transactions and their fsync never block the main event loop. Plain JavaScript on purpose: it starts
// in ~50 ms under node, tsx and vitest alike, with no TypeScript loader to register in the worker.
// Protocol (types in event-store.ts): { type: "commit", id, batch } → { replies: [{ id, outcomes } | { id, error }], commitMs? };
// { type: "close" }. The main thread posts each batch at once, without waiting for the one in flight:
// while a commit fsyncs, the next batches queue on this port, and the next commit takes them all (one
// transaction, one fsync), so how soon the main thread reads a reply no longer paces the commits.
import { parentPort, receiveMessageOnPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";

/** @typedef {"no_stream" | number} ExpectedRevision */
/** @typedef {{ stream: string; expected: ExpectedRevision; lastEventId?: string; rows: { eventId: string; type: string; data: string; metadata: string }[] }} Append */
/** @typedef {{ ok: { nextExpectedRevision: number; position: number } } | { conflict: { stream: string; expected: ExpectedRevision; actual: ExpectedRevision } }} Outcome */

const port = parentPort;
if (!port) throw new Error("event-writer.worker.mjs runs only as a worker thread");

// The main thread opened the file first: the schema exists and the file is in WAL mode.
const { file, cacheKib } = /** @type {{ file: string; cacheKib: number }} */ (workerData);
const db = new Database(file);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = FULL"); // an append resolves only after its commit is fsynced
db.pragma("busy_timeout = 5000"); // other processes may write the same file
db.pragma("temp_store = MEMORY"); // savepoint journals of group commits stay off the disk
db.pragma(`cache_size = -${cacheKib}`); // page cache bounded in KiB (event-store.ts, PAGE_CACHE_KIB)

const currentRevision = db.prepare("SELECT revision FROM events WHERE stream = ? ORDER BY revision DESC LIMIT 1").pluck();
const eventIdAt = db.prepare("SELECT event_id FROM events WHERE stream = ? AND revision = ?").pluck();
const storedAfter = db.prepare(
  "SELECT event_id, revision, position FROM events WHERE stream = ? AND revision > ? ORDER BY revision LIMIT ?",
);
const insert = db.prepare("INSERT INTO events (stream, revision, event_id, type, data, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)");

const insertRows = db.transaction(
  /** @type {(a: Append, from: number, at: string) => Outcome} */
  (a, from, at) => {
    let position = 0;
    a.rows.forEach((r, i) => {
      position = Number(insert.run(a.stream, from + i, r.eventId, r.type, r.data, r.metadata, at).lastInsertRowid);
    });
    return { ok: { nextExpectedRevision: from + a.rows.length - 1, position } };
  },
);

/** @type {(a: Append, at: string) => Outcome} */
function appendOne(a, at) {
  const current = /** @type {number | undefined} */ (currentRevision.get(a.stream)) ?? -1;
  /** @type {ExpectedRevision} */
  const actual = current < 0 ? "no_stream" : current;
  const exp = a.expected === "no_stream" ? -1 : a.expected;
  const conflict = { conflict: { stream: a.stream, expected: a.expected, actual } };
  // appended behind an append that failed: the stream does not hold the event it was decided after
  if (a.lastEventId !== undefined && eventIdAt.get(a.stream, exp) !== a.lastEventId) return conflict;
  if (exp !== current) {
    // Idempotent retry (EventStoreDB semantics): the ids stored right after `expected` are ours.
    const stored = /** @type {{ event_id: string; revision: number; position: number }[]} */ (
      Number.isInteger(exp) && exp >= -1 ? storedAfter.all(a.stream, exp, a.rows.length) : []
    );
    const last = stored.at(-1);
    if (last && stored.length === a.rows.length && stored.every((s, i) => s.event_id === a.rows[i]?.eventId)) {
      return { ok: { nextExpectedRevision: last.revision, position: last.position } };
    }
    return conflict;
  }
  try {
    return insertRows(a, current + 1, at); // nested transaction = savepoint: a failure undoes only this append
  } catch (err) {
    // event ids are unique store-wide: reusing one (in another place) is a conflict, not a write
    if (/** @type {{ code?: string }} */ (err).code === "SQLITE_CONSTRAINT_UNIQUE") return conflict;
    throw err;
  }
}

// Group commit: every append of a batch in ONE immediate transaction (write lock up front, no upgrade
// deadlock), each checked on its own, so a conflicting append rejects alone and the others commit.
let inserted = 0; // when the last batch's rows were written: from here to the reply is COMMIT (WAL write + fsync)
const commitBatch = db.transaction(
  /** @type {(batch: Append[]) => Outcome[]} */
  (batch) => {
    const at = new Date().toISOString();
    const outcomes = batch.map((a) => appendOne(a, at));
    inserted = performance.now();
    return outcomes;
  },
);

/** @typedef {{ type: "commit"; id: number; batch: Append[] } | { type: "close" }} Message */

/** @type {(batches: { id: number; batch: Append[] }[]) => void} */
function commit(batches) {
  if (batches.length === 0) return;
  try {
    const outcomes = commitBatch.immediate(batches.flatMap((b) => b.batch));
    const commitMs = performance.now() - inserted;
    let next = 0;
    port.postMessage({
      replies: batches.map(({ id, batch }) => ({ id, outcomes: outcomes.slice(next, (next += batch.length)) })),
      commitMs,
    });
  } catch (err) {
    const e = /** @type {{ message?: string; code?: string }} */ (err);
    const error = { message: String(e.message ?? err), code: e.code }; // nothing committed
    port.postMessage({ replies: batches.map(({ id }) => ({ id, error })) });
  }
}

/** one transaction takes at most this many appends; the rest wait on the port for the next one */
const MAX_APPENDS = 4096;

port.on("message", (/** @type {Message} */ first) => {
  /** @type {{ id: number; batch: Append[] }[]} */
  const batches = [];
  let appends = 0;
  /** @type {Message | undefined} */
  let msg = first;
  while (msg?.type === "commit") {
    batches.push(msg);
    appends += msg.batch.length;
    msg = appends < MAX_APPENDS ? /** @type {{ message: Message } | undefined} */ (receiveMessageOnPort(port))?.message : undefined;
  }
  commit(batches);
  if (msg?.type === "close") {
    // posted after every commit the main thread wanted: nothing follows it
    db.close();
    port.close(); // nothing left on this thread's loop: the worker exits
  }
});
