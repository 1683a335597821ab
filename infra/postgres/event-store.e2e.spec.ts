import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { EventStore } from "../../domain/event-store.ts";
import type { NewEvent, RecordedEvent } from "../../domain/events.ts";
import { createPostgresDatabase, dropPostgresDatabase, withPostgres } from "../../test/engines/raw-postgres.ts";
import { engineUrl } from "../../test/engines/require-engine.ts";
import { eventStoreContract, testEvent } from "../../test/contracts/event-store.contract.ts";
import { openPostgresEventStore, type PostgresEventStoreOptions } from "./event-store.ts";
import { writeBatch } from "./write-batch.ts";

// The PostgreSQL adapter against a real server (POSTGRES_URL, `npm run engines:up`), in a database of
// its own created for this file: the contract, then what only a networked store with concurrent
// writers can get wrong: positions committing out of order, and connections dropping under a subscriber.

const serverUrl = engineUrl("postgres", "POSTGRES_URL");
const ids = (events: { metadata: { eventId: string } }[]) => events.map((e) => e.metadata.eventId);
const userOf = (e: RecordedEvent) => (e.data as { userId: string }).userId;
const row = (e: NewEvent) => ({
  eventId: e.metadata.eventId,
  type: e.type,
  data: JSON.stringify(e.data),
  metadata: JSON.stringify(e.metadata),
});

function subscribe(store: EventStore, after: number) {
  const controller = new AbortController();
  const seen: RecordedEvent[] = [];
  const done = (async () => {
    for await (const e of store.subscribeToAll(after, controller.signal)) seen.push(e);
  })();
  const waitFor = (n: number, timeout = 10_000) =>
    vi.waitFor(() => expect(seen.length).toBeGreaterThanOrEqual(n), { timeout, interval: 20 });
  return { seen, waitFor, stop: async () => (controller.abort(), await done) };
}

describe.skipIf(!serverUrl)("PostgreSQL event store", () => {
  let db: { name: string; url: string };
  const opened: EventStore[] = [];
  const open = async (options: PostgresEventStoreOptions = {}) => {
    const store = await openPostgresEventStore(db.url, { onError: () => undefined, ...options });
    opened.push(store);
    return store;
  };
  const sql = <R extends pg.QueryResultRow>(text: string, values: unknown[] = []) =>
    withPostgres(db.url, async (c) => (await c.query<R>(text, values)).rows);
  beforeAll(async () => (db = await createPostgresDatabase(serverUrl!, "es_test")));
  afterEach(async () => void (await Promise.all(opened.splice(0).map((s) => s.close()))));
  afterAll(async () => db && dropPostgresDatabase(serverUrl!, db.name));

  eventStoreContract("postgres", async () => ({
    store: await open(),
    reopen: () => open(), // same database, new pool: the data is the server's
    cleanup: async () => void (await Promise.all(opened.splice(0).map((s) => s.close()))),
  }));

  it("keeps revisions and event ids unique in the table itself, and returns JSON text as written", async () => {
    const store = await open();
    const stream = `u-${randomUUID()}`;
    const e = testEvent("u1", { nul: "a\u0000b", order: { z: 1, a: 2 } }); // jsonb would refuse \u0000 and sort keys
    await store.append(stream, [e], "no_stream");
    const insert =
      "INSERT INTO events (position, stream, revision, event_id, type, data, metadata) VALUES ((SELECT max(position) + 1 FROM events), $1, $2, $3, 't', '{}', '{}')";
    await expect(sql(insert, [stream, 0, randomUUID()])).rejects.toMatchObject({ code: "23505", constraint: "events_stream_revision_key" });
    await expect(sql(insert, [`${stream}-2`, 0, e.metadata.eventId])).rejects.toMatchObject({
      code: "23505",
      constraint: "events_event_id_key",
    });
    const [json] = await store.readAllJson!({ after: (await store.headPosition()) - 1 });
    expect(json!.data).toBe(JSON.stringify(e.data));
    expect(json!.metadata).toBe(JSON.stringify(e.metadata));
  });

  it("group commit: 200 appends issued together share transactions, each with its own position", async () => {
    const store = await open();
    const results = await Promise.all(Array.from({ length: 200 }, () => store.append(`g-${randomUUID()}`, [testEvent()], "no_stream")));
    expect(new Set(results.map((r) => r.position)).size).toBe(200);
    expect(store.stats.appends).toBe(200);
    expect(store.stats.commits).toBeLessThan(200);
  });

  it("a reused event id refuses only its own append; the rest of the group commit is written", async () => {
    const store = await open();
    const taken = testEvent();
    await store.append(`t-${randomUUID()}`, [taken], "no_stream");
    const commits = store.stats.commits;
    const [a, b, c] = await Promise.allSettled([
      store.append(`t-${randomUUID()}`, [testEvent()], "no_stream"),
      store.append(`t-${randomUUID()}`, [testEvent(), taken], "no_stream"),
      store.append(`t-${randomUUID()}`, [testEvent()], "no_stream"),
    ]);
    expect([a.status, b.status, c.status]).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((b as PromiseRejectedResult).reason).toMatchObject({ code: "EVENT_STORE.CONCURRENCY", actual: "no_stream" });
    expect(store.stats.commits).toBe(commits + 1); // one batch
    expect((await store.readAll({ after: (await store.headPosition()) - 2 })).map((e) => e.revision)).toEqual([0, 0]);
  });

  it("a name PostgreSQL cannot store (NUL, lone surrogate) is refused up front; the appends beside it are written", async () => {
    const store = await open();
    const [bad, lone, good] = await Promise.allSettled([
      store.append(`n-${randomUUID()}\u0000`, [testEvent()], "no_stream"),
      store.append(`n-${randomUUID()}\uD800`, [testEvent()], "no_stream"),
      store.append(`n-${randomUUID()}`, [testEvent()], "no_stream"),
    ]);
    expect([bad.status, lone.status, good.status]).toEqual(["rejected", "rejected", "fulfilled"]);
    expect((bad as PromiseRejectedResult).reason.message).toMatch(/cannot store/);
  });

  it(
    "8 writers × 1,000 appends on 200 streams while a subscriber reads $all: every event exactly once, in position order",
    { timeout: 180_000 },
    async () => {
      const writers = await Promise.all(Array.from({ length: 8 }, (_, w) => open({ applicationName: `es-writer-${w}` })));
      const reader = await open();
      const base = await reader.headPosition();
      const sub = subscribe(reader, base);
      const prefix = randomUUID().slice(0, 8);
      const appended: string[] = [];
      // each writer: 25 streams × 40 appends, its streams concurrently, each stream at its exact revision
      await Promise.all(
        writers.map((store, w) =>
          Promise.all(
            Array.from({ length: 25 }, async (_, s) => {
              for (let i = 0; i < 40; i++) {
                const e = testEvent(`w${w}`);
                await store.append(`${prefix}-w${w}-s${s}`, [e], i === 0 ? "no_stream" : i - 1);
                appended.push(e.metadata.eventId);
              }
            }),
          ),
        ),
      );
      expect(appended).toHaveLength(8000);
      await sub.waitFor(8000, 60_000);
      await sub.stop();
      expect(sub.seen).toHaveLength(8000); // nothing twice
      expect(new Set(ids(sub.seen))).toEqual(new Set(appended)); // nothing skipped
      sub.seen.slice(1).forEach((e, i) => expect(e.position).toBeGreaterThan(sub.seen[i]!.position));
      expect(sub.seen).toEqual(await reader.readAll({ after: base, maxCount: 10_000 }));
      // the writers really overlapped: their batches interleave in $all
      const switches = sub.seen.filter((e, i) => i > 0 && userOf(e) !== userOf(sub.seen[i - 1]!)).length;
      expect(switches).toBeGreaterThan(100);
      expect(writers.reduce((n, w) => n + w.stats.commits, 0)).toBeLessThan(8000);
    },
  );

  it("an append transaction still open holds back every later one: the subscriber never passes it, then sees both in order", async () => {
    const store = await open({ applicationName: "es-later" });
    const base = await store.headPosition();
    const sub = subscribe(store, base);
    const [first, second] = [testEvent(), testEvent()];
    const raw = new pg.Client({ connectionString: db.url });
    await raw.connect();
    try {
      await raw.query("BEGIN"); // the adapter's own write protocol, its COMMIT held back
      const [held] = await writeBatch(raw, [{ stream: `held-${randomUUID()}`, expected: "no_stream", rows: [row(first)] }]);
      expect(held).toEqual({ ok: { nextExpectedRevision: 0, position: base + 1 } });
      const later = store.append(`later-${randomUUID()}`, [second], "no_stream");
      // the later append is in flight: its transaction waits for the held one's lock
      await vi.waitFor(async () =>
        expect(
          await sql(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'es-later' AND datname = current_database() AND wait_event_type = 'Lock'",
          ),
        ).toHaveLength(1),
      );
      expect(await store.readAll({ after: base })).toEqual([]);
      expect(sub.seen).toEqual([]);
      await raw.query("COMMIT");
      expect(await later).toEqual({ nextExpectedRevision: 0, position: base + 2 });
    } finally {
      await raw.end();
    }
    await sub.waitFor(2);
    await sub.stop();
    expect(sub.seen.map((e) => [e.metadata.eventId, e.position])).toEqual([
      [first.metadata.eventId, base + 1],
      [second.metadata.eventId, base + 2],
    ]);
  });

  it("a dropped connection resubscribes from the checkpoint: no event lost, none twice, LISTEN back on a new connection", async () => {
    const errors: unknown[] = [];
    const reader = await open({ applicationName: "es-reader", onError: (e) => errors.push(e) });
    const writer = await open();
    const base = await reader.headPosition();
    const sub = subscribe(reader, base);
    const stream = `d-${randomUUID()}`;
    const events = Array.from({ length: 7 }, () => testEvent());
    await writer.append(stream, events.slice(0, 3), "no_stream");
    await sub.waitFor(3);
    const listening = () =>
      sql<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = 'es-reader-listen' AND datname = current_database()");
    const [before] = await listening();
    expect(before).toBeDefined();
    // every connection of the reader: its LISTEN connection and its pooled read connections
    const killed = await sql(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'es-reader%' AND datname = current_database()",
    );
    expect(killed.length).toBeGreaterThanOrEqual(2);
    await writer.append(stream, events.slice(3, 5), 2); // committed while nobody listens
    await vi.waitFor(
      async () => {
        const now = await listening();
        expect(now).toHaveLength(1);
        expect(now[0]!.pid).not.toBe(before!.pid);
      },
      { timeout: 10_000 },
    );
    await sub.waitFor(5);
    await writer.append(stream, events.slice(5), 4); // woken by the new LISTEN connection
    await sub.waitFor(7);
    await sub.stop();
    expect(ids(sub.seen)).toEqual(ids(events));
    expect(errors.some((e) => (e as { code?: string }).code === "57P01")).toBe(true); // "terminating connection due to administrator command"
  });
});
