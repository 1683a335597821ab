import type pg from "pg";
import type { AppendResult, ExpectedRevision } from "../../domain/event-store.ts";
import { usedIdSql } from "../used-ids-sql.ts";

// The write protocol of the PostgreSQL event store: one group-commit batch of appends is ONE call of the
// server-side function append_events, in ONE statement (autocommit: it commits when the call returns), so
// no client round trip ever happens while its lock is held. A test can call it inside BEGIN ... COMMIT.
//
// Positions commit in order. The function first takes one transaction-level advisory lock, then reads
// max(position) and numbers its rows from there. PostgreSQL makes a commit visible before it releases
// the transaction's locks, so the next batch can only number its rows after the previous batch is
// visible: every snapshot sees a gap-free prefix of $all, and a reader checkpointing one number
// (`position > last`) can never step over a row a slower transaction will still commit. A writer that
// skipped the lock could not slip a lower position in either: it would collide on the primary key.
// The cost: batches commit one at a time per database (see README and BENCHMARKS.md).
//
// Each append is checked on its own, set-based in one statement: exact expected revision, else an
// idempotent retry (EventStoreDB semantics: the ids stored right after `expected` are exactly this
// append's), else a conflict; an event id stored anywhere is never written again. A batch holds each
// stream and each event id once (takeBatch), so its appends never depend on one another. The lock makes
// these checks race-free; UNIQUE (stream, revision) and UNIQUE (event_id) back them regardless.

/** pg_advisory_xact_lock key of the events table: "aggregat" in ASCII, as an int8 */
export const APPEND_LOCK = "7018692285305414004";
export const CHANNEL = "aggregator_events";

/** the id an account event records once, as an index expression (EventStore.usedIds) */
export const USED_ID = usedIdSql((name) => `(data->>'${name}')`);

// json, not jsonb: the text comes back byte for byte (key order, "\u0000" escapes jsonb refuses)
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  position   bigint PRIMARY KEY CHECK (position > 0),
  stream     text NOT NULL,
  revision   integer NOT NULL CHECK (revision >= 0),
  event_id   text NOT NULL UNIQUE,
  type       text NOT NULL,
  data       json NOT NULL,
  metadata   json NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (stream, revision)
);
CREATE INDEX IF NOT EXISTS events_used_ids ON events (stream, ${USED_ID.key}) WHERE ${USED_ID.types};
-- One batch of independent appends (distinct streams, distinct event ids: the adapter defers the rest to the
-- next batch), as four flat texts: appends [{"i": 1, "s": stream, "x": expected revision (-1: no stream),
-- "n": events}, ...]; shapes [{"a": its append, "k": 1, "id": event id, "t": type}, ...] in append order; and
-- the rows' data and metadata as newline-delimited JSON, line n for row n. The bodies never go through a
-- JSON function, which would refuse "\\u0000" anywhere in a document; a cast to json keeps the text as is.
-- Returns per append, in order: ok and (last revision, last position), or not ok and the actual revision
-- (-1: no stream).
CREATE OR REPLACE FUNCTION append_events(appends json, shapes json, datas text, metas text, check_ids boolean)
  RETURNS TABLE (ok boolean, revision int, "position" bigint) LANGUAGE plpgsql AS $fn$
DECLARE
  head bigint;
  taken text[]; -- this batch's event ids that are stored already, when asked to look (else the insert fails on one)
BEGIN
  PERFORM set_config('synchronous_commit', 'on', true); -- durable before the call returns, whatever the server default
  PERFORM pg_advisory_xact_lock(${APPEND_LOCK});
  -- a statement after the lock: its snapshot sees every batch committed before this one
  SELECT coalesce(max(e.position), 0) INTO head FROM events e;
  IF check_ids THEN
    SELECT array_agg(e.event_id) INTO taken FROM events e -- one probe of the unique index per id
      WHERE e.event_id = ANY (ARRAY(SELECT v.id FROM json_to_recordset(shapes) v(id text)));
  END IF;
  RETURN QUERY
  WITH a AS MATERIALIZED (
    SELECT j.i, j.s, j.x, j.n, coalesce((SELECT max(e.revision) FROM events e WHERE e.stream = j.s), -1) AS cur
    FROM json_to_recordset(appends) j(i int, s text, x int, n int)
  ), r AS ( -- ROWS FROM zips the three lists: row n with line n
    SELECT v.app, v.k, v.id, v.t, v.d, v.m
    FROM ROWS FROM (json_to_recordset(shapes) AS (a int, k int, id text, t text),
                    unnest(string_to_array(datas, E'\\n')::json[]), unnest(string_to_array(metas, E'\\n')::json[])) v(app, k, id, t, d, m)
  ), refused AS ( -- an id stored already, or twice in one append: never written again
    SELECT r.app FROM r WHERE r.id = ANY (taken)
    UNION SELECT r.app FROM r GROUP BY r.app, r.id HAVING count(*) > 1
  ), decided AS MATERIALIZED ( -- at its exact revision and with fresh ids: written
    SELECT a.*, a.x = a.cur AND f.app IS NULL AS fresh FROM a LEFT JOIN refused f ON f.app = a.i
  ), placed AS ( -- the written ones get the next positions, in batch order
    SELECT d.*, head + sum(CASE WHEN d.fresh THEN d.n ELSE 0 END) OVER (ORDER BY d.i) AS last FROM decided d
  ), inserted AS (
    INSERT INTO events (position, stream, revision, event_id, type, data, metadata)
    SELECT p.last - p.n + r.k, p.s, p.cur + r.k, r.id, r.t, r.d, r.m FROM r JOIN placed p ON p.i = r.app WHERE p.fresh
  ), retried AS ( -- idempotent retry: the ids stored right after the expected revision are exactly this append's
    SELECT p.i, st.rev, st.pos, st.ids = (SELECT array_agg(r.id ORDER BY r.k) FROM r WHERE r.app = p.i) AS same
    FROM placed p, LATERAL (
      SELECT array_agg(e.event_id ORDER BY e.revision) AS ids, max(e.revision) AS rev, max(e.position) AS pos
      FROM (SELECT e.event_id, e.revision, e.position FROM events e
            WHERE e.stream = p.s AND e.revision > p.x ORDER BY e.revision LIMIT p.n) e) st
    WHERE NOT p.fresh AND p.x >= -1 AND p.x < p.cur
  )
  SELECT p.fresh OR coalesce(t.same, false),
         CASE WHEN p.fresh THEN p.cur + p.n WHEN t.same THEN t.rev ELSE p.cur END,
         CASE WHEN p.fresh THEN p.last WHEN t.same THEN t.pos END
  FROM placed p LEFT JOIN retried t ON t.i = p.i ORDER BY p.i;
  IF (SELECT max(e.position) FROM events e) > head THEN
    PERFORM pg_notify('${CHANNEL}', ''); -- delivered to listeners at COMMIT, never before
  END IF;
END $fn$`;

/** one append, data and metadata already JSON text */
export interface Append {
  stream: string;
  expected: ExpectedRevision;
  rows: { eventId: string; type: string; data: string; metadata: string }[];
}
export type Outcome = { ok: AppendResult } | { conflict: { stream: string; expected: ExpectedRevision; actual: ExpectedRevision } };

/** no_stream is -1; a revision that can never match (negative, fractional) is -2: a conflict unless a retry matches */
const toSqlRevision = (e: ExpectedRevision) => (e === "no_stream" ? -1 : Number.isInteger(e) && e >= 0 && e < 2 ** 31 ? e : -2);

/**
 * The batch as one call; a test can run it inside BEGIN ... COMMIT to hold its lock (when no event id is
 * reused). Data and metadata are JSON.stringify output, which never holds a raw line feed: joined by "\n"
 * they go as they are, with no per-element escaping (a json[] literal costs more client CPU than the insert).
 */
export async function writeBatch(client: pg.ClientBase | pg.Pool, batch: Append[]): Promise<Outcome[]> {
  const appends = `[${batch.map((a, i) => `{"i":${i + 1},"s":${JSON.stringify(a.stream)},"x":${toSqlRevision(a.expected)},"n":${a.rows.length}}`).join(",")}]`;
  const rows = batch.flatMap((a, i) => a.rows.map((r, k) => ({ ...r, a: i + 1, k: k + 1 })));
  const shapes = `[${rows.map((r) => `{"a":${r.a},"k":${r.k},"id":${JSON.stringify(r.eventId)},"t":${JSON.stringify(r.type)}}`).join(",")}]`;
  const params = [appends, shapes, rows.map((r) => r.data).join("\n"), rows.map((r) => r.metadata).join("\n")];
  const call = (checkIds: boolean) =>
    client.query<{ ok: boolean; revision: number; position: number | string | null }>(
      "SELECT * FROM append_events($1::json, $2::json, $3, $4, $5)",
      [...params, checkIds],
    );
  // Event ids are nearly always new: skip looking them up, and let the unique index refuse a reused one.
  // Then (the statement rolled back, nothing written) go again, refusing just the appends that reuse one.
  const { rows: results } = await call(false).catch((err: { code?: string; constraint?: string }) => {
    if (err.code === "23505" && err.constraint === "events_event_id_key") return call(true);
    throw err;
  });
  return batch.map((a, i): Outcome => {
    const r = results[i]!;
    if (r.ok) return { ok: { nextExpectedRevision: r.revision, position: Number(r.position) } };
    return { conflict: { stream: a.stream, expected: a.expected, actual: r.revision < 0 ? "no_stream" : r.revision } };
  });
}

/**
 * Takes from `queue` the appends that can share one batch: a stream once and an event id once, none of
 * them in a batch still in flight (which commits first is up to the lock), and up to `maxEvents` events
 * (one append may exceed it alone). The rest stays, in order. A bounded batch lets the next one be built
 * and sent while the server writes this one (about 20% more appends/s in bench/postgres.ts).
 */
export function takeBatch<T extends Append>(queue: T[], inFlight: Iterable<Append[]> = [], maxEvents = 1000): { batch: T[]; rest: T[] } {
  const streams = new Set<string>();
  const ids = new Set<string>();
  for (const a of [...inFlight].flat()) {
    streams.add(a.stream);
    for (const r of a.rows) ids.add(r.eventId);
  }
  const batch: T[] = [];
  const rest: T[] = [];
  let events = 0;
  for (const a of queue) {
    // a deferred append blocks its stream for this batch: appends to one stream keep their order
    const full = batch.length > 0 && events + a.rows.length > maxEvents;
    const clash = full || streams.has(a.stream) || a.rows.some((r) => ids.has(r.eventId));
    streams.add(a.stream);
    if (clash) rest.push(a);
    else {
      batch.push(a);
      events += a.rows.length;
      for (const r of a.rows) ids.add(r.eventId);
    }
  }
  return { batch, rest };
}
