// The projector app on MongoDB (FerretDB on CI; READ_STORE=mongo), SIGKILLed mid-batch several times and
// restarted: at every kill the checkpoint is never ahead of the data (everything up to it is applied), and
// in the end the read models equal a rebuild from zero into another database. MongoDB has no
// multi-document transactions, so documents go first and the checkpoint last; position guards make the
// replayed batch after a crash a no-op. Same pattern as projector.int.spec.ts (SQLite).
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { dropMongoDatabase } from "../../test/engines/raw-clients.ts";
import { engineUrl } from "../../test/engines/require-engine.ts";
import { createMemoryReadStore } from "../../infra/memory/read-store.ts";
import { openMongoReadStore } from "../../infra/mongo/read-store.ts";
import { openSqliteEventStore } from "../../infra/sqlite/event-store.ts";
import { allProjections } from "../../projections/index.ts";
import { applyBatch } from "../../projections/projector.ts";
import { readCheckpoint } from "../../projections/checkpoints.ts";
import type { Doc } from "../../projections/read-store.ts";
import { dumpReadModels, projectToHead } from "../../test/harness/read-models.ts";
import { appendWorkload } from "../../test/fixtures/workload.ts";

const url = engineUrl("mongo", "MONGO_URL");
const ROOT = join(import.meta.dirname, "../..");
const RUN = randomUUID().slice(0, 8);
const CRASHED = `projector_crash_${RUN}`;
const FRESH = `projector_fresh_${RUN}`;
let dir = "";
const KILLS = 3;
const COLLECTIONS = [...new Set(allProjections.map((p) => p.collection))];

describe.skipIf(!url)("projector on MongoDB (FerretDB): SIGKILL mid-batch and restart", () => {
  afterAll(async () => {
    if (!dir) return; // the test did not run
    // after a failure the last SIGKILLed projector's command may still run on the server, and FerretDB 1.24
    // (SQLite) crashes (SIGBUS) when a database is dropped under a running command: let it finish first
    await sleep(2000);
    for (const db of [CRASHED, FRESH]) await dropMongoDatabase(url!, db).catch((e: unknown) => console.error(`could not drop ${db}:`, e));
    rmSync(dir, { recursive: true, force: true });
  });

  it("checkpoint never ahead of the data; in the end equal to a rebuild from zero", { timeout: 300_000 }, async () => {
    dir = mkdtempSync(join(tmpdir(), "aggregator-projector-mongo-"));
    const events = openSqliteEventStore(join(dir, "events.db"));
    const head = await appendWorkload(events, { users: 20, commands: 2500 });
    const reads = await openMongoReadStore(url!, CRASHED); // the test's own view of the projector's database
    const env = {
      ...process.env,
      DATA_DIR: dir,
      READ_STORE: "mongo",
      MONGO_URL: url!,
      MONGO_DB: CRASHED,
      ADMIN_TOKEN: "projector-mongo-admin-0123",
    };
    const startApp = () => {
      const child = spawn(process.execPath, ["dist/projector.js"], {
        cwd: ROOT,
        env,
        stdio: ["ignore", "ignore", "inherit"],
      });
      return { child, exited: once(child, "exit") };
    };
    /** waits until the checkpoint moves past `from` (or reaches `until`); fails if the app exits */
    const progress = async (child: ReturnType<typeof spawn>, from: number, until = head) => {
      for (;;) {
        const checkpoint = await readCheckpoint(reads, "main");
        if (checkpoint > from || checkpoint >= until) return checkpoint;
        if (child.exitCode !== null) throw new Error(`projector exited with ${child.exitCode}`);
        await sleep(50);
      }
    };

    /** documents written by events after `position`, over all read-model collections */
    const written = async (position: number) =>
      (await Promise.all(COLLECTIONS.map((c) => reads.collection(c).count({ _position: { gt: position } })))).reduce((a, b) => a + b, 0);
    const checkpoints: number[] = [];
    const ahead: number[] = [];
    let last = 0;
    for (let round = 0; round < KILLS; round++) {
      const { child, exited } = startApp();
      last = await progress(child, last);
      // kill as soon as the next batch has written a document but not yet its checkpoint
      while (last < head && child.exitCode === null && (await written(last)) === 0) await sleep(10);
      child.kill("SIGKILL");
      await exited;
      const checkpoint = await readCheckpoint(reads, "main");
      checkpoints.push(checkpoint);
      ahead.push(await written(checkpoint));
      last = checkpoint;

      // Not ahead: a rebuild of exactly the events up to the checkpoint (in memory) is contained in the
      // crashed database; a document there may be newer (a batch written, its checkpoint not yet).
      const upTo = createMemoryReadStore();
      for (let after = 0; after < checkpoint;) {
        const page = (await events.readAll({ after, maxCount: 1000 })).filter((e) => e.position <= checkpoint);
        if (page.length === 0) break;
        await applyBatch({ events, reads: upTo, projections: allProjections }, page);
        after = page.at(-1)!.position;
      }
      const [expected, actual] = await Promise.all([dumpReadModels(upTo), dumpReadModels(reads)]);
      for (const [collection, docs] of Object.entries(expected)) {
        const stored = new Map((actual[collection] as Doc[]).map((d) => [d._id, d]));
        for (const doc of docs as Doc[]) {
          const found = stored.get(doc._id);
          expect(found, `${collection}/${doc._id} missing at checkpoint ${checkpoint}`).toBeDefined();
          expect(found!._position, `${collection}/${doc._id}`).toBeGreaterThanOrEqual(doc._position);
          if (found!._position === doc._position) expect(found).toEqual(doc);
        }
      }
    }
    console.log(
      `projector-mongo: head ${head}; at the ${KILLS} kills: checkpoints ${checkpoints.join(", ")}, documents ahead of them ${ahead.join(", ")}`,
    );
    expect(checkpoints.every((c) => c <= head)).toBe(true);
    expect(
      ahead.some((n) => n > 0),
      "at least one kill landed between a batch's documents and its checkpoint",
    ).toBe(true);

    // restarted once more: it finishes the backlog from its checkpoint, then stops gracefully
    const { child, exited } = startApp();
    await progress(child, head - 1);
    child.kill("SIGTERM");
    expect((await exited)[0]).toBe(0);
    expect(await readCheckpoint(reads, "main")).toBe(head);

    const fresh = await openMongoReadStore(url!, FRESH);
    await projectToHead(events, fresh);
    const [crashed, rebuilt] = await Promise.all([dumpReadModels(reads), dumpReadModels(fresh)]);
    expect(crashed.balances!.length).toBe(20);
    expect(crashed).toEqual(rebuilt);
    await Promise.all([events.close(), reads.close(), fresh.close()]);
  });
});
