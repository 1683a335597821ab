import type pg from "pg";
import type { AppendResult, ExpectedRevision } from "../../domain/event-store.ts";

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
-- One batch of independent appends (distinct streams, distinct event ids: the adapter defers the rest to the
-- next batch). Row j belongs to append apps[j] as its ks[j]-th event. Returns per append, in order: ok and
-- (last revision, last position), or not ok and the actual revision (-1: no stream).
CREATE OR REPLACE FUNCTION append_events(streams text[], expected int[], counts int[],
    apps int[], ks int[], ids text[], types text[], datas json[], metas json[])
  RETURNS TABLE (ok boolean, revision int, "position" bigint) LANGUAGE plpgsql AS $fn$
DECLARE
  head bigint;
BEGIN
  PERFORM set_config('synchronous_commit', 'on', true); -- durable before the call returns, whatever the server default
  PERFORM pg_advisory_xact_lock(${APPEND_LOCK});
  -- a statement after the lock: its snapshot sees every batch committed before this one
  SELECT coalesce(max(e.position), 0) INTO head FROM events e;
  RETURN QUERY
  WITH a AS (
    SELECT u.i::int AS i, u.s, u.x, u.n, coalesce((SELECT max(e.revision) FROM events e WHERE e.stream = u.s), -1) AS cur
    FROM unnest(streams, expected, counts) WITH ORDINALITY u(s, x, n, i)
  ), r AS (
    SELECT v.app, v.k, v.id, v.t, v.d, v.m FROM unnest(apps, ks, ids, types, datas, metas) v(app, k, id, t, d, m)
  ), refused AS ( -- an id already stored, or twice in one append: never written again
    SELECT r.app FROM r JOIN events e ON e.event_id = r.id
    UNION SELECT r.app FROM r GROUP BY r.app, r.id HAVING count(*) > 1
  ), placed AS ( -- appends at their exact revision get the next positions, in batch order
    SELECT a.*, fresh, head + sum(CASE WHEN fresh THEN a.n ELSE 0 END) OVER (ORDER BY a.i) AS last
    FROM a, LATERAL (SELECT a.x = a.cur AND a.i NOT IN (SELECT app FROM refused) AS fresh) f
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

/** the batch as one call: a test can run it inside BEGIN ... COMMIT to hold its lock */
export async function writeBatch(client: pg.ClientBase | pg.Pool, batch: Append[]): Promise<Outcome[]> {
  const rows = batch.flatMap((a, i) => a.rows.map((r, k) => ({ ...r, app: i + 1, k: k + 1 })));
  const { rows: results } = await client.query<{ ok: boolean; revision: number; position: number | string | null }>(
    "SELECT * FROM append_events($1::text[], $2::int[], $3::int[], $4::int[], $5::int[], $6::text[], $7::text[], $8::json[], $9::json[])",
    [batch.map((a) => a.stream), batch.map((a) => toSqlRevision(a.expected)), batch.map((a) => a.rows.length),
      rows.map((r) => r.app), rows.map((r) => r.k), rows.map((r) => r.eventId), rows.map((r) => r.type), rows.map((r) => r.data), rows.map((r) => r.metadata)],
  );
  return batch.map((a, i): Outcome => {
    const r = results[i]!;
    if (r.ok) return { ok: { nextExpectedRevision: r.revision, position: Number(r.position) } };
    return { conflict: { stream: a.stream, expected: a.expected, actual: r.revision < 0 ? "no_stream" : r.revision } };
  });
}

/**
 * Takes from `queue` the appends that can share one batch: a stream once and an event id once, none of
 * them in a batch still in flight (which commits first is up to the lock). The rest stays, in order.
 */
export function takeBatch<T extends Append>(queue: T[], inFlight: Iterable<Append[]> = []): { batch: T[]; rest: T[] } {
  const streams = new Set<string>();
  const ids = new Set<string>();
  for (const a of [...inFlight].flat()) {
    streams.add(a.stream);
    for (const r of a.rows) ids.add(r.eventId);
  }
  const batch: T[] = [];
  const rest: T[] = [];
  for (const a of queue) {
    // a deferred append blocks its stream for this batch: appends to one stream keep their order
    const clash = streams.has(a.stream) || a.rows.some((r) => ids.has(r.eventId));
    streams.add(a.stream);
    if (clash) rest.push(a);
    else {
      batch.push(a);
      for (const r of a.rows) ids.add(r.eventId);
    }
  }
  return { batch, rest };
}
