// Plain `pg` access for the PostgreSQL tests and benchmarks (apps/ may not import vendor SDKs): a fresh
// database per test file or bench run, so parallel runs never share tables, advisory locks or
// LISTEN channels (all three are per database), and the bench's baseline, raw batched INSERTs.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { APPEND_LOCK } from "../../infra/postgres/write-batch.ts";

/** runs `work` on one short-lived connection */
export async function withPostgres<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** creates database `<prefix>_<random>` on the server of `url`; returns its name and URL */
export async function createPostgresDatabase(url: string, prefix: string): Promise<{ name: string; url: string }> {
  const name = `${prefix}_${randomUUID().slice(0, 8)}`;
  await withPostgres(url, (c) => c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
  const target = new URL(url);
  target.pathname = `/${name}`;
  return { name, url: target.toString() };
}

/** drops it even while clients are still connected (their connections are terminated) */
export async function dropPostgresDatabase(url: string, name: string): Promise<void> {
  await withPostgres(url, (c) => c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`));
}

export interface RawEventRow {
  stream: string;
  revision: number;
  eventId: string;
  type: string;
  data: string;
  metadata: string;
}

export interface RawInsertOptions {
  /** rows per INSERT ... SELECT FROM unnest(...), one transaction each */
  batchSize: number;
  /** connections inserting batches at the same time (default 1) */
  connections?: number;
  /** take the event store's append lock first in each transaction (write-batch.ts): serialized commits */
  lock?: boolean;
  /**
   * "ndjson" (default): data and metadata sent as one newline-joined text each and split server-side, as
   * the event store does; "arrays": as json[] parameters, which pg escapes element by element
   */
  bodies?: "ndjson" | "arrays";
}

/**
 * The bench baseline: `rows` into a new table shaped like the event store's (same columns, constraints
 * and indexes, positions from a sequence), synchronous_commit on. Returns the seconds the inserts took.
 */
export async function rawBatchedInserts(url: string, table: string, rows: RawEventRow[], options: RawInsertOptions): Promise<number> {
  const { batchSize, connections = 1, lock = false, bodies = "ndjson" } = options;
  const t = pg.escapeIdentifier(table);
  await withPostgres(url, (c) =>
    c.query(`CREATE TABLE ${t} (position bigserial PRIMARY KEY, stream text NOT NULL,
    revision integer NOT NULL, event_id text NOT NULL UNIQUE, type text NOT NULL, data json NOT NULL, metadata json NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(), UNIQUE (stream, revision))`),
  );
  const json = bodies === "ndjson" ? (n: number) => `string_to_array($${n}, E'\\n')::json[]` : (n: number) => `$${n}::json[]`;
  const sql = `INSERT INTO ${t} (stream, revision, event_id, type, data, metadata)
    SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], ${json(5)}, ${json(6)})`;
  const body = bodies === "ndjson" ? (texts: string[]) => texts.join("\n") : (texts: string[]) => texts;
  const batches: RawEventRow[][] = [];
  for (let i = 0; i < rows.length; i += batchSize) batches.push(rows.slice(i, i + batchSize));
  const clients = await Promise.all(
    Array.from({ length: connections }, async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query("SET synchronous_commit = on");
      return c;
    }),
  );
  try {
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      clients.map(async (c) => {
        for (let b = batches[next++]; b; b = batches[next++]) {
          const values = [
            b.map((r) => r.stream),
            b.map((r) => r.revision),
            b.map((r) => r.eventId),
            b.map((r) => r.type),
            body(b.map((r) => r.data)),
            body(b.map((r) => r.metadata)),
          ];
          if (!lock) await c.query(sql, values);
          else {
            await c.query(`BEGIN; SELECT pg_advisory_xact_lock(${APPEND_LOCK})`);
            await c.query(sql, values);
            await c.query("COMMIT");
          }
        }
      }),
    );
    return (performance.now() - t0) / 1000;
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
}
