import type { ClientBase } from "pg";
import type { AppendResult, ExpectedRevision } from "../../domain/event-store.ts";

// The write protocol of the PostgreSQL event store: one group-commit batch of appends inside a
// transaction the caller opened (BEGIN ... COMMIT), so a test can hold one open.
//
// Positions commit in order. Every batch first takes ONE transaction-level advisory lock, then reads
// max(position) and numbers its rows from there. PostgreSQL makes a commit visible before it releases
// the transaction's locks, so the next batch can only number its rows after the previous batch is
// visible: every snapshot sees a gap-free prefix of $all, and a reader checkpointing one number
// (`position > last`) can never step over a row a slower transaction will still commit. A writer that
// skipped the lock could not slip a lower position in either: it would collide on the primary key.
// The cost is one batch at a time per database, paid per batch, not per append (see BENCHMARKS.md).
//
// Expected revisions are decided under that lock from what is committed plus the batch's own earlier
// appends; UNIQUE (stream, revision) and UNIQUE (event_id) stay the last word should anyone bypass it.

/** pg_advisory_xact_lock key of the events table: "aggregat" in ASCII, as an int8 */
export const APPEND_LOCK = "7018692285305414004";
export const CHANNEL = "aggregator_events";

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
)`;

/** one append, data and metadata already JSON text */
export interface Append {
  stream: string;
  expected: ExpectedRevision;
  rows: { eventId: string; type: string; data: string; metadata: string }[];
}
export type Outcome = { ok: AppendResult } | { conflict: { stream: string; expected: ExpectedRevision; actual: ExpectedRevision } };

interface Written { eventId: string; revision: number; position: number }

// json, not jsonb: the text comes back byte for byte (key order, "\u0000" escapes jsonb refuses)
const STATE = `SELECT (SELECT coalesce(max(position), 0) FROM events)::text AS head,
  (SELECT coalesce(json_object_agg(s, (SELECT max(revision) FROM events WHERE stream = s)), '{}') FROM unnest($1::text[]) s) AS revisions,
  (SELECT coalesce(json_agg(event_id), '[]') FROM events WHERE event_id = ANY($2::text[])) AS taken`;
const STORED_AFTER = "SELECT event_id, revision, position::text FROM events WHERE stream = $1 AND revision > $2 ORDER BY revision LIMIT $3";
const INSERT = `WITH inserted AS (
  INSERT INTO events (position, stream, revision, event_id, type, data, metadata)
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::text[], $6::json[], $7::json[]))
SELECT pg_notify('${CHANNEL}', $8)`; // delivered to listeners at COMMIT, never before

export async function writeBatch(client: ClientBase, batch: Append[]): Promise<Outcome[]> {
  await client.query(`SET LOCAL synchronous_commit = on; SELECT pg_advisory_xact_lock(${APPEND_LOCK})`);
  const streams = [...new Set(batch.map((a) => a.stream))];
  const state = (await client.query<{ head: string; revisions: Record<string, number | null>; taken: string[] }>(
    STATE, [streams, batch.flatMap((a) => a.rows.map((r) => r.eventId))])).rows[0]!;
  let position = Number(state.head);
  const committed = new Map(streams.map((s) => [s, state.revisions[s] ?? -1]));
  const current = new Map(committed);
  const taken = new Set(state.taken);
  const pending = new Map<string, Written[]>(); // this batch's rows per stream, in revision order
  const insert: [number[], string[], number[], string[], string[], string[], string[]] = [[], [], [], [], [], [], []];

  async function storedAfter(stream: string, exp: number, n: number): Promise<Written[]> {
    const rows = exp < committed.get(stream)!
      ? (await client.query<{ event_id: string; revision: number; position: string }>(STORED_AFTER, [stream, exp, n])).rows
        .map((r) => ({ eventId: r.event_id, revision: r.revision, position: Number(r.position) }))
      : [];
    return [...rows, ...(pending.get(stream) ?? []).filter((w) => w.revision > exp)].slice(0, n);
  }

  const outcomes: Outcome[] = [];
  for (const a of batch) {
    const cur = current.get(a.stream)!;
    const exp = a.expected === "no_stream" ? -1 : a.expected;
    const conflict = { conflict: { stream: a.stream, expected: a.expected, actual: cur < 0 ? "no_stream" as const : cur } };
    const ids = a.rows.map((r) => r.eventId);
    if (exp !== cur) {
      // Idempotent retry (EventStoreDB semantics): the ids stored right after `expected` are ours.
      const stored = Number.isInteger(exp) && exp >= -1 && exp < cur ? await storedAfter(a.stream, exp, ids.length) : [];
      const last = stored.at(-1);
      const same = last && stored.length === ids.length && stored.every((w, i) => w.eventId === ids[i]);
      outcomes.push(same ? { ok: { nextExpectedRevision: last.revision, position: last.position } } : conflict);
      continue;
    }
    // an event id is unique in the whole store: reusing one anywhere is a conflict, not a write
    if (new Set(ids).size !== ids.length || ids.some((id) => taken.has(id))) {
      outcomes.push(conflict);
      continue;
    }
    const written = a.rows.map((r, i): Written => ({ eventId: r.eventId, revision: cur + 1 + i, position: ++position }));
    a.rows.forEach((r, i) => {
      const w = written[i]!;
      taken.add(r.eventId);
      [w.position, a.stream, w.revision, r.eventId, r.type, r.data, r.metadata].forEach((v, c) => (insert[c] as unknown[]).push(v));
    });
    pending.set(a.stream, [...(pending.get(a.stream) ?? []), ...written]);
    current.set(a.stream, cur + a.rows.length);
    outcomes.push({ ok: { nextExpectedRevision: cur + a.rows.length, position } });
  }
  if (insert[0].length > 0) await client.query(INSERT, [...insert, String(position)]);
  return outcomes;
}
