import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ConcurrencyError } from "../../domain/event-store.ts";
import type { RecordedEvent } from "../../domain/events.ts";
import { eventStoreContract, testEvent } from "../../test/contracts/event-store.contract.ts";
import { openSqliteEventStore, PAGE_CACHE_KIB } from "./event-store.ts";
import { openSqliteReadStore } from "./read-store.ts";
import { runProjector } from "../../projections/projector.ts";
import type { SqliteEventStore } from "./event-store.ts";

async function tempFile() {
  const dir = await mkdtemp(join(tmpdir(), "sqlite-es-"));
  return { dir, file: join(dir, "events.db") };
}

eventStoreContract(
  "sqlite",
  async () => {
    const { dir, file } = await tempFile();
    const opened = [openSqliteEventStore(file)];
    return {
      store: opened[0]!,
      reopen: async () => {
        const store = openSqliteEventStore(file);
        opened.push(store);
        return store;
      },
      cleanup: async () => {
        for (const s of opened) await s.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  { chainsAppends: true },
);

describe("sqlite event store", () => {
  let dir: string;
  let file: string;
  const opened: SqliteEventStore[] = [];
  const open = () => {
    const s = openSqliteEventStore(file);
    opened.push(s);
    return s;
  };
  beforeEach(async () => ({ dir, file } = await tempFile()));
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("runs in WAL with synchronous = FULL and the documented schema", () => {
    const store = open();
    expect(store.db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(store.db.pragma("synchronous", { simple: true })).toBe(2);
    const columns = store.db.prepare("SELECT name FROM pragma_table_info('events')").pluck().all();
    expect(columns).toEqual(["position", "stream", "revision", "event_id", "type", "data", "metadata", "created_at"]);
  });

  it("group commit: 200 appends in one turn share transactions and each gets its own position", async () => {
    const store = open();
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => store.append(`g-${i}`, [testEvent()], "no_stream")));
    expect(new Set(results.map((r) => r.position)).size).toBe(200);
    expect(store.stats.appends).toBe(200);
    expect(store.stats.commits).toBeLessThan(200);
  });

  it("a conflicting append in a batch rejects alone; the others commit", async () => {
    const store = open();
    const settled = await Promise.allSettled([
      store.append("a", [testEvent()], "no_stream"),
      store.append("a", [testEvent()], "no_stream"),
      store.append("b", [testEvent()], "no_stream"),
      store.append("a", [testEvent()], 0), // sees the first append of the same batch
    ]);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled"]);
    expect((settled[1] as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyError); // rebuilt from the writer's reply
    expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ stream: "a", expected: "no_stream", actual: 0 });
    expect(store.stats.commits).toBe(1);
    expect((await store.readAll()).map((e) => `${e.streamName}@${e.revision}`)).toEqual(["a@0", "b@0", "a@1"]);
  });

  it("persists across reopen, including appends still queued at close", async () => {
    const store = open();
    await store.append("p", [testEvent(), testEvent()], "no_stream");
    const queued = store.append("p", [testEvent()], 1);
    await store.close();
    expect(await queued).toMatchObject({ nextExpectedRevision: 2 });
    const reopened = open();
    expect((await reopened.readStream("p")).map((e) => e.revision)).toEqual([0, 1, 2]);
    await expect(store.append("p", [testEvent()], 2)).rejects.toThrow(/closed/);
  });

  it("commits on a writer thread: the event loop runs while a commit waits, and what is posted meanwhile commits together next", async () => {
    const store = open();
    await store.append("w", [testEvent()], "no_stream"); // the writer is up
    store.db.exec("BEGIN IMMEDIATE"); // this thread's connection holds the write lock: the writer's commit waits
    const first = store.append("w", [testEvent()], 0);
    const settled = vi.fn();
    void first.then(settled, settled);
    await new Promise((r) => setTimeout(r, 50)); // timers fire: nothing blocks this thread
    const second = store.append("w", [testEvent()], 1);
    await new Promise((r) => setImmediate(r));
    const third = store.append("v", [testEvent()], "no_stream");
    expect(await store.readStream("w")).toHaveLength(1); // reads go on meanwhile
    expect(settled).not.toHaveBeenCalled();
    store.db.exec("COMMIT");
    expect((await Promise.all([first, second, third])).map((r) => r.nextExpectedRevision)).toEqual([1, 2, 0]);
    expect(store.stats).toEqual({ commits: 3, appends: 4 }); // [w@0], [w@1], then [w@2] and [v@0], posted apart, in one transaction
  });

  it("pages end at 4 MiB of event text too, and so do the projector's batches (whatever size the events are)", async () => {
    const store = open();
    const big = "x".repeat(1024 * 1024);
    for (let i = 0; i < 10; i++) await store.append(`big-${i}`, [testEvent("u1", { big })], "no_stream");
    const first = await store.readAll({ maxCount: 1000 });
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(10);
    const all = [...first];
    for (let p = first; p.length > 0; all.push(...p)) p = await store.readAll({ after: all.at(-1)!.position, maxCount: 1000 });
    expect(all.map((e) => e.streamName)).toEqual(Array.from({ length: 10 }, (_, i) => `big-${i}`));
    expect((await store.readAllJson!({ maxCount: 1000 })).length).toBe(first.length);

    const reads = openSqliteReadStore(join(dir, "read.db"));
    const controller = new AbortController();
    const batches: number[] = [];
    await runProjector({
      events: store,
      reads,
      projections: [],
      signal: controller.signal,
      onBatch: (position, n) => (batches.push(n), position >= all.at(-1)!.position && controller.abort()),
    });
    await reads.close();
    expect(batches.reduce((a, b) => a + b)).toBe(10);
    expect(Math.max(...batches)).toBeLessThan(10);
  });

  it("bounds SQLite's page cache on its read connection (better-sqlite3's default, 16 MiB, a grown database fills and keeps)", () => {
    const store = open();
    expect(store.db.pragma("cache_size", { simple: true })).toBe(-PAGE_CACHE_KIB.reader);
    expect(PAGE_CACHE_KIB.reader * 1024).toBeLessThan(16_000 * 1024);
  });

  it("close() is idempotent and refuses :memory: (the writer needs a file it can open too)", async () => {
    const store = open();
    const queued = store.append("c", [testEvent()], "no_stream");
    const closing = store.close();
    expect(store.close()).toBe(closing);
    await closing;
    await store.close();
    expect(await queued).toMatchObject({ nextExpectedRevision: 0 });
    expect(() => openSqliteEventStore(":memory:")).toThrow(/file/);
  });

  it("a subscription sees events another connection (process) writes to the same file", async () => {
    const reader = open();
    const writer = open();
    const controller = new AbortController();
    const seen: RecordedEvent[] = [];
    const done = (async () => {
      for await (const e of reader.subscribeToAll(0, controller.signal)) seen.push(e);
    })();
    await writer.append("x", [testEvent()], "no_stream");
    await expect(reader.append("x", [testEvent()], "no_stream")).rejects.toBeInstanceOf(ConcurrencyError);
    await vi.waitFor(() => expect(seen).toHaveLength(1), { timeout: 5000 });
    controller.abort();
    await done;
  });

  it("a subscriber busy while another connection committed reads that commit when it asks, not at the next poll", async () => {
    const reader = open();
    const writer = open();
    const controller = new AbortController();
    const events = reader.subscribeToAll(0, controller.signal)[Symbol.asyncIterator]();
    await writer.append("x", [testEvent()], "no_stream");
    expect((await events.next()).value).toMatchObject({ streamName: "x", revision: 0 });
    // the subscriber holds its first event (a projector applying a batch, or lingering) while this commits
    await writer.append("x", [testEvent()], 0);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the commit's WAL notification, if one is watched, has come
    vi.useFakeTimers({ toFake: ["setTimeout"] }); // the poll never fires: only the commit already made can end the wait
    try {
      expect((await events.next()).value).toMatchObject({ streamName: "x", revision: 1 });
    } finally {
      vi.useRealTimers();
      controller.abort();
      await events.return?.();
    }
  });
});
