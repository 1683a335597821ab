// Plain `pg` access for the PostgreSQL tests and benchmarks (apps/ may not import vendor SDKs): a fresh
// database per test file or bench run, so parallel runs never share tables, advisory locks or
// LISTEN channels (all three are per database), and the bench's baseline, raw batched INSERTs.
import { randomUUID } from "node:crypto";
import pg from "pg";

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

export interface RawEventRow { stream: string; revision: number; eventId: string; type: string; data: string; metadata: string }

/**
 * The bench baseline: `rows` into a table shaped like the event store's (same columns, constraints and
 * indexes, positions from a sequence), `batchSize` rows per INSERT ... SELECT FROM unnest(...) and per
 * transaction, synchronous_commit on, one connection. Returns the seconds the inserts took.
 */
export async function rawBatchedInserts(url: string, table: string, rows: RawEventRow[], batchSize: number): Promise<number> {
  return withPostgres(url, async (c) => {
    const t = pg.escapeIdentifier(table);
    await c.query(`CREATE TABLE ${t} (position bigserial PRIMARY KEY, stream text NOT NULL, revision integer NOT NULL,
      event_id text NOT NULL UNIQUE, type text NOT NULL, data json NOT NULL, metadata json NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(), UNIQUE (stream, revision))`);
    await c.query("SET synchronous_commit = on");
    const sql = `INSERT INTO ${t} (stream, revision, event_id, type, data, metadata)
      SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::json[], $6::json[])`;
    const t0 = performance.now();
    for (let i = 0; i < rows.length; i += batchSize) {
      const batch = rows.slice(i, i + batchSize);
      await c.query(sql, [batch.map((r) => r.stream), batch.map((r) => r.revision), batch.map((r) => r.eventId),
        batch.map((r) => r.type), batch.map((r) => r.data), batch.map((r) => r.metadata)]);
    }
    return (performance.now() - t0) / 1000;
  });
}
