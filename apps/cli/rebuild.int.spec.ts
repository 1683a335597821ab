import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventStore } from "../../domain/event-store.ts";
import { createMemoryReadStore } from "../../infra/memory/read-store.ts";
import { openSqliteReadStore } from "../../infra/sqlite/read-store.ts";
import { allProjections } from "../../projections/index.ts";
import { applyBatch } from "../../projections/projector.ts";
import { readCheckpoint } from "../../projections/checkpoints.ts";
import type { Doc, ReadStore } from "../../projections/read-store.ts";
import { rebuildCollection, rebuildProjections } from "../../projections/rebuild.ts";
import { runCli } from "../../test/harness/cli.ts";
import { testApp, type TestApp } from "../../test/harness/platform.ts";
import { seedHistory } from "../../test/fixtures/seed.ts";
import { seedSynthetic } from "../../test/fixtures/synthetic.ts";
import { checkpoints } from "../../projections/checkpoints.ts";

// Done-when: a rebuild equals the live projections; an interrupted rebuild, run again, ends equal.

type Snapshot = Record<string, Doc[]>;
async function snapshot(reads: ReadStore): Promise<Snapshot> {
  const out: Snapshot = {};
  for (const p of allProjections) out[p.collection] = await reads.collection(p.collection).find({}, { sort: { _id: 1 } });
  return out;
}

/** the oracle: every event projected from scratch into memory, independent of the live projector */
async function fromScratch(events: EventStore): Promise<Snapshot> {
  const reads = createMemoryReadStore();
  for (let after = 0; ;) {
    const page = await events.readAll({ after, maxCount: 500 });
    if (page.length === 0) break;
    const into = { events, reads, projections: allProjections };
    await applyBatch(into, page);
    after = page.at(-1)!.position;
  }
  return snapshot(reads);
}

let t: TestApp;
let live: Snapshot;
beforeAll(async () => {
  t = await testApp();
  await seedHistory(t, { accounts: 3, usage: 3, prefix: "rb" });
  await seedSynthetic(t.platform.events, { accounts: 4, eventsPerAccount: 60, chunk: 25 }); // holds, reservations
  expect(await t.platform.projector.catchUp(10_000)).toBe(true);
  live = await snapshot(t.platform.reads);
  expect(live.balances!.length).toBe(7);
  expect(live.holds!.length).toBeGreaterThan(0);
  expect(await fromScratch(t.platform.events)).toEqual(live);
});
afterAll(() => t.close());

describe("projections rebuild", () => {
  it("rebuilds every projection into fresh collections and switches to a copy equal to the live one", async () => {
    const result = await rebuildProjections({
      events: t.platform.events,
      reads: t.platform.reads,
      projections: allProjections,
      pageSize: 37,
    });
    expect(result.completed).toBe(true);
    expect(await snapshot(t.platform.reads)).toEqual(live);
    const collections = await t.platform.reads.listCollections();
    expect(collections.filter((c) => c.endsWith("__rebuild"))).toEqual([]);
    for (const p of allProjections) expect(await readCheckpoint(t.platform.reads, `rebuild:${p.name}`)).toBe(0);
  });

  it("an interrupted rebuild leaves the live collections serving, and running it again ends equal", async () => {
    const reads = t.platform.reads;
    const stop = new AbortController();
    let pages = 0;
    const first = await rebuildProjections({
      events: t.platform.events,
      reads,
      projections: allProjections,
      pageSize: 40,
      signal: stop.signal,
      onProgress: () => void (++pages === 3 && stop.abort()),
    });
    expect(first.completed).toBe(false);
    expect(await snapshot(reads)).toEqual(live); // untouched while the rebuild is partial
    expect(await reads.listCollections()).toContain(rebuildCollection(allProjections[0]!));
    // a crash between the documents and the checkpoint: the checkpoint lags the documents
    await checkpoints(reads).put({ _id: "rebuild:balances", _position: 5 });
    const second = await rebuildProjections({ events: t.platform.events, reads, projections: allProjections, pageSize: 40 });
    expect(second.completed).toBe(true);
    expect(second.resumedFrom.balances).toBe(5);
    expect(second.resumedFrom.transactions).toBe(first.position);
    expect(await snapshot(reads)).toEqual(live);
  });

  it("events appended while the rebuild runs end up in the switched collections", async () => {
    let appended = false;
    await rebuildProjections({
      events: t.platform.events,
      reads: t.platform.reads,
      projections: allProjections,
      pageSize: 50,
      onProgress: async () => {
        if (appended) return;
        appended = true;
        await t.app.inject({
          method: "POST",
          url: "/billing/payment/process",
          headers: t.admin,
          payload: { userId: "rb-late", amount: "3" },
        });
      },
    });
    expect(await t.platform.projector.catchUp(10_000)).toBe(true);
    const expected = await fromScratch(t.platform.events);
    expect(expected.balances!.map((b) => b._id)).toContain("rb-late");
    expect(await snapshot(t.platform.reads)).toEqual(expected);
    live = expected;
  });

  it("CLI: rebuild --all on DATA_DIR (server stopped) equals the live projections; --dry-run does not switch", async () => {
    await t.platform.projector.stop();
    const env = { DATA_DIR: t.dataDir };
    const run = await runCli(["projections", "rebuild", "--all", "--page-size", "64"], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/rebuilt and switched balances, .*events up to position \d+/);
    const dry = await runCli(["projections", "rebuild", "balances", "--dry-run"], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("balances__rebuild: 8 documents");
    expect((await runCli(["projections", "rebuild", "nope"], env)).code).toBe(2);
    const reads = openSqliteReadStore(join(t.dataDir, "read.db"));
    try {
      expect(await snapshot(reads)).toEqual(live);
    } finally {
      await reads.close();
    }
  });
});
