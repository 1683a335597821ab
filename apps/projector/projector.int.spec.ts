import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqliteEventStore } from "../../infra/sqlite/event-store.ts";
import { openSqliteReadStore } from "../../infra/sqlite/read-store.ts";
import { readCheckpoint } from "../../projections/checkpoints.ts";
import { dumpReadModels, projectToHead } from "../../test/harness/read-models.ts";
import { appendWorkload } from "../../test/fixtures/workload.ts";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { checkpoints, LIVE_PROJECTOR } from "../../projections/checkpoints.ts";

const ROOT = join(import.meta.dirname, "../..");

describe("projections: rebuild and crash equality (SQLite)", () => {
  const dir = mkdtempSync(join(tmpdir(), "aggregator-projector-"));
  let head = 0;
  beforeAll(async () => {
    const events = openSqliteEventStore(join(dir, "events.db"));
    head = await appendWorkload(events, { users: 30, commands: 6000 });
    await events.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("projecting twice from zero gives identical read models, and replaying a batch changes nothing", async () => {
    const events = openSqliteEventStore(join(dir, "events.db"));
    const a = openSqliteReadStore(join(dir, "a.db"));
    const b = openSqliteReadStore(join(dir, "b.db"));
    await projectToHead(events, a, 1000);
    await projectToHead(events, b, 37); // other batch boundaries
    const dumpA = await dumpReadModels(a);
    expect(dumpA.balances!.length).toBe(30);
    expect(dumpA).toEqual(await dumpReadModels(b));
    // replay everything over existing documents: the position guards make it a no-op
    await checkpoints(a).put({ _id: LIVE_PROJECTOR, _position: 0 });
    await projectToHead(events, a, 500);
    expect(await dumpReadModels(a)).toEqual(dumpA);
    await Promise.all([events.close(), a.close(), b.close()]);
  });

  it("the projector killed (SIGKILL) mid-batch and restarted ends equal to a rebuild from zero", async () => {
    const dataDir = mkdtempSync(join(dir, "crash-"));
    rmSync(dataDir, { recursive: true });
    const { cpSync } = await import("node:fs");
    cpSync(join(dir, "events.db"), join(dataDir, "events.db"));
    const env = { ...process.env, DATA_DIR: dataDir, ADMIN_TOKEN: "crash-test-admin-token-0123" };
    let kills = 0;
    const checkpointsAtKill: number[] = [];
    const watcher = openSqliteReadStore(join(dataDir, "read.db"));
    for (const fraction of [0.05, 0.35, 0.7]) {
      const child = spawn(process.execPath, ["dist/projector.js"], {
        cwd: ROOT,
        env,
        stdio: ["ignore", "ignore", "inherit"],
      });
      const exited = once(child, "exit");
      // kill it once it has worked through part of the backlog: while it is inside a batch
      const target = Math.floor(head * fraction);
      while (child.exitCode === null && (await readCheckpoint(watcher, "main")) < target) await new Promise((r) => setTimeout(r, 2));
      if (child.exitCode === null) {
        child.kill("SIGKILL");
        kills++;
      }
      await exited;
      checkpointsAtKill.push(await readCheckpoint(watcher, "main"));
    }
    await watcher.close();
    expect(kills).toBeGreaterThan(0);
    // at least one kill landed while the backlog was being worked through
    expect(
      checkpointsAtKill.some((c) => c < head),
      String(checkpointsAtKill),
    ).toBe(true);
    const reads = openSqliteReadStore(join(dataDir, "read.db"));
    const checkpoint = await readCheckpoint(reads, "main");
    expect(checkpoint).toBeLessThanOrEqual(head);
    const events = openSqliteEventStore(join(dataDir, "events.db"));
    await projectToHead(events, reads);
    const fresh = openSqliteReadStore(join(dataDir, "fresh.db"));
    await projectToHead(events, fresh);
    expect(await dumpReadModels(reads)).toEqual(await dumpReadModels(fresh));
    await Promise.all([events.close(), reads.close(), fresh.close()]);
  });
});
