import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { ConcurrencyError } from "../../domain/event-store.ts";
import type { AppendResult, EventStore, ExpectedRevision, ReadAllOptions } from "../../domain/event-store.ts";
import type { NewEvent, RecordedEvent } from "../../domain/events.ts";
import { backoffDelay, openListener, type Listener } from "./listener.ts";
import { APPEND_LOCK, CHANNEL, SCHEMA, USED_ID, takeBatch, writeBatch, type Append, type Outcome } from "./write-batch.ts";

// Guarantees: an append resolves only after its transaction committed with synchronous_commit = on.
// Group commit: appends queued in the same turn go out together as ONE statement and transaction
// (write-batch.ts: a server-side function under one advisory lock), each checked on its own so a
// conflict rejects alone. Up to two batches are in flight per store; the batches of every store on the
// database serialize on the lock, which is what keeps $all positions committing in order. Reads go
// through the pool; subscriptions read pages after their last position and sleep until LISTEN/NOTIFY
// (listener.ts) says something committed. A failed read is retried with backoff from the last
// position handed out: a dropped connection resubscribes from the checkpoint, never skipping.

const DEFAULT_PAGE = 1000;
const SUBSCRIPTION_PAGE = 500;
/** batches in flight per store: the next one is built and sent while the server commits the last */
const IN_FLIGHT = 2;
const COLUMNS = "position, stream, revision, type, data, metadata";
/** int8 as a number (pg's default is a string): positions stay far below 2^53 */
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

export interface PostgresEventStoreOptions {
  /** connections for reads and the writer (default 10) */
  poolSize?: number;
  /** shows in pg_stat_activity; the LISTEN connection gets "-listen" appended */
  applicationName?: string;
  /** a dropped connection, a failed read of a subscription (retried), an idle pooled client's error */
  onError?: (error: unknown) => void;
}

export interface PostgresEventStore extends EventStore {
  /** committed group-commit transactions and the appends they carried */
  readonly stats: { readonly commits: number; readonly appends: number };
}

interface Row {
  position: number;
  stream: string;
  revision: number;
  type: string;
  data: unknown;
  metadata: unknown;
}
interface Pending extends Append {
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

const toRecorded = (r: Row): RecordedEvent =>
  ({ type: r.type, data: r.data, metadata: r.metadata, streamName: r.stream, revision: r.revision, position: r.position }) as RecordedEvent;

/** text PostgreSQL cannot store (NUL, a lone UTF-16 surrogate): refused up front so it cannot fail a whole batch */
const unstorable = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const storable = (...texts: string[]) => texts.every((t) => !unstorable.test(t));

export async function openPostgresEventStore(url: string, options: PostgresEventStoreOptions = {}): Promise<PostgresEventStore> {
  const { applicationName = "aggregator-events", onError = (e: unknown) => console.error("postgres event store:", e) } = options;
  let closed = false;
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    application_name: applicationName,
    keepAlive: true,
    types,
  });
  // an idle client lost its connection (without a listener this would crash the process); after close(), a
  // connection still shutting down may be cut by the server: nobody needs to hear of it
  pool.on("error", (err) => closed || onError(err));
  try {
    await pool.query(`SELECT pg_advisory_xact_lock(${APPEND_LOCK}); ${SCHEMA}`); // one transaction: no DDL race between instances
  } catch (err) {
    await pool.end();
    throw err;
  }

  let queue: Pending[] = [];
  const inFlight = new Set<Pending[]>();
  let scheduled = false;
  let closingDone: Promise<void> | undefined;
  let listener: Listener | undefined; // opened by the first subscription
  const closing = new AbortController();
  const idle = new Set<() => void>();
  const stats = { commits: 0, appends: 0 };

  function flush(): void {
    scheduled = false;
    while (inFlight.size < IN_FLIGHT && queue.length > 0) {
      const { batch, rest } = takeBatch(queue, inFlight);
      if (batch.length === 0) return; // all wait for a batch in flight: its settle schedules them
      queue = rest;
      inFlight.add(batch);
      void write(batch);
    }
  }

  async function write(batch: Pending[]): Promise<void> {
    let outcomes: Outcome[] | undefined;
    let failure: unknown;
    try {
      outcomes = await writeBatch(pool, batch); // one statement, its own transaction
      stats.commits++;
      stats.appends += batch.length;
    } catch (err) {
      failure = err; // nothing committed, or (connection lost during COMMIT) unknown: a retry with the same ids is safe
    }
    inFlight.delete(batch);
    batch.forEach((p, i) => {
      const o = outcomes?.[i];
      if (!o) p.reject(failure);
      else if ("ok" in o) p.resolve(o.ok);
      else p.reject(new ConcurrencyError(o.conflict.stream, o.conflict.expected, o.conflict.actual));
    });
    // what queued meanwhile goes at the end of this turn: the settled appends' continuations often join it
    if (queue.length > 0) schedule();
    else if (inFlight.size === 0) for (const done of [...idle]) done();
  }

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => void flush());
  }

  const page = async (after: number, maxCount: number) =>
    (await pool.query<Row>(`SELECT ${COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2`, [after, maxCount])).rows;

  async function* subscribeToAll(after: number, signal: AbortSignal): AsyncGenerator<RecordedEvent> {
    const stop = AbortSignal.any([signal, closing.signal]);
    listener ??= openListener({ connectionString: url, application_name: `${applicationName}-listen` }, CHANNEL, onError);
    let last = after;
    for (let attempt = 0; !stop.aborted;) {
      const seen = listener.generation;
      let rows: Row[];
      try {
        rows = await page(last, SUBSCRIPTION_PAGE);
        attempt = 0;
      } catch (err) {
        if (stop.aborted) return;
        onError(err);
        await sleep(backoffDelay(attempt++), undefined, { signal: stop }).catch(() => undefined);
        continue;
      }
      for (const row of rows) {
        if (stop.aborted) return;
        last = row.position;
        yield toRecorded(row);
      }
      if (rows.length < SUBSCRIPTION_PAGE) await listener.changed(seen, stop);
    }
  }

  async function shutDown(): Promise<void> {
    if (inFlight.size > 0 || queue.length > 0)
      await new Promise<void>((resolve) =>
        idle.add(function done() {
          idle.delete(done);
          resolve();
        }),
      );
    closing.abort();
    await listener?.close();
    await pool.end();
  }

  return {
    stats,
    append(stream: string, events: NewEvent[], expected: ExpectedRevision) {
      if (closed) return Promise.reject(new Error("event store is closed"));
      if (events.length === 0) return Promise.reject(new Error(`append to ${stream}: no events`));
      const rows = events.map((e) => ({
        eventId: e.metadata.eventId,
        type: e.type,
        data: JSON.stringify(e.data),
        metadata: JSON.stringify(e.metadata),
      }));
      // JSON.stringify escapes NUL and lone surrogates in data; it returns undefined for no data at all
      if (
        !storable(stream, ...rows.flatMap((r) => [r.eventId, r.type])) ||
        rows.some((r) => r.data === undefined || r.metadata === undefined)
      ) {
        return Promise.reject(new Error(`append to ${stream}: a name PostgreSQL cannot store (NUL or a lone surrogate), or no data`));
      }
      return new Promise<AppendResult>((resolve, reject) => {
        queue.push({ stream, expected, rows, resolve, reject });
        schedule();
      });
    },
    async readStream(stream, fromRevision = 0) {
      const sql = `SELECT ${COLUMNS} FROM events WHERE stream = $1 AND revision >= $2 ORDER BY revision`;
      return (await pool.query<Row>(sql, [stream, fromRevision])).rows.map(toRecorded);
    },
    async usedIds(stream, keys) {
      const sql = `SELECT ${USED_ID.key} AS key FROM events WHERE stream = $1 AND ${USED_ID.types} AND ${USED_ID.key} = ANY ($2::text[])`;
      return new Set((await pool.query<{ key: string }>(sql, [stream, keys])).rows.map((r) => r.key));
    },
    async readAll({ after = 0, maxCount = DEFAULT_PAGE }: ReadAllOptions = {}) {
      return (await page(after, maxCount)).map(toRecorded);
    },
    async readAllJson({ after = 0, maxCount = DEFAULT_PAGE }: ReadAllOptions = {}) {
      const sql =
        "SELECT position, stream, revision, type, data::text AS data, metadata::text AS metadata FROM events WHERE position > $1 ORDER BY position LIMIT $2";
      const { rows } = await pool.query<Row & { data: string; metadata: string }>(sql, [after, maxCount]);
      return rows.map((r) => ({
        position: r.position,
        streamName: r.stream,
        revision: r.revision,
        type: r.type,
        data: r.data,
        metadata: r.metadata,
      }));
    },
    subscribeToAll,
    async headPosition() {
      return (await pool.query<{ head: number }>("SELECT coalesce(max(position), 0) AS head FROM events")).rows[0]!.head;
    },
    close() {
      closed = true; // appends accepted before still commit
      return (closingDone ??= shutDown());
    },
  };
}
