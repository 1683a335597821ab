import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { threadId as thisThread } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqliteEventStore } from "../../infra/sqlite/event-store.ts";
import { openSqliteReadStore } from "../../infra/sqlite/read-store.ts";
import { readCheckpoint } from "../../projections/checkpoints.ts";
import { appendWorkload } from "../../test/fixtures/workload.ts";
import { dumpReadModels, projectToHead } from "../../test/harness/read-models.ts";
import { testApp, type TestApp } from "../../test/harness/platform.ts";
import { threadInspector, threadsOfThisProcess } from "../../test/harness/threads.ts";
import { TOKENS } from "../composition/container.ts";
import type { BackgroundWorker } from "./supervisor.ts";

// `npm start`'s composition (background: true): the projector runs in a worker thread, not on the API's.
// Where the child process of before was sent SIGKILL and SIGSTOP, the thread is terminated (Worker#terminate)
// and left stuck in a loop that never yields (through the inspector): test/harness/threads.ts.

/** the API's log lines (pino JSON), for the supervisor's own */
function logSink() {
  const lines: Record<string, unknown>[] = [];
  return { lines, stream: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } };
}

/** the read models equal a rebuild from zero of the same event store */
async function expectEqualToRebuild(t: TestApp) {
  const events = openSqliteEventStore(join(t.dataDir, "events.db"));
  const fresh = openSqliteReadStore(join(t.dataDir, "fresh.db"));
  await projectToHead(events, fresh);
  expect(await dumpReadModels(t.platform.reads)).toEqual(await dumpReadModels(fresh));
  await Promise.all([events.close(), fresh.close()]);
}

/** the thread that replaced `previous` (the supervisor restarts it after its backoff) */
async function replacementOf(background: BackgroundWorker, previous: number) {
  for (;;) {
    const current = background.threadId();
    if (current !== undefined && current !== previous) return current;
    await sleep(20);
  }
}

describe("the projector in npm start's worker thread (SQLite)", () => {
  let t: TestApp;
  let background: BackgroundWorker;
  const log = logSink();
  const threads = threadsOfThisProcess();
  const pay = (userId: string, amount = "1") =>
    t.app.inject({ method: "POST", url: "/billing/payment/process", headers: t.admin, payload: { userId, amount } });
  const balanceOf = async (userId: string) => (await t.app.inject({ url: `/billing/balance/${userId}`, headers: t.admin })).json().balance;
  const logged = (msg: string) => log.lines.filter((l) => l.msg === msg);

  beforeAll(async () => {
    // a thread silent for 3 s is replaced (10 s in npm start): the stuck thread below is replaced sooner
    t = await testApp({ LOG_LEVEL: "error" }, { background: true, backgroundHungAfterMs: 3000, logStream: log.stream });
    background = (await t.root.resolve(TOKENS.background))!;
  });
  afterAll(async () => {
    threads.close();
    await t.close();
  });

  it("applies what the API appends; a minPosition read sees the API's own write", async () => {
    while (background.threadId() === undefined) await sleep(10);
    expect(background.threadId()).toBeGreaterThan(0);
    expect(background.threadId()).not.toBe(thisThread);
    const paid = await pay("alice", "25");
    expect(paid.statusCode).toBe(201);
    const balance = await t.app.inject({ url: `/billing/balance/alice?minPosition=${paid.json().position}`, headers: t.admin });
    expect(balance.statusCode, balance.body).toBe(200);
    expect(balance.json().balance).toBe("25");
  });

  it("the API's thread applies nothing itself: with the worker thread stuck, commands are acknowledged and read models stand still; the stuck thread is replaced and its successor catches up", async () => {
    const inspector = await threadInspector();
    const stuck = background.threadId()!;
    try {
      await inspector.freeze(stuck);
      const paid = await pay("alice", "5");
      expect(paid.statusCode).toBe(201);
      expect(await t.platform.projector.waitFor(paid.json().position, 500)).toBe(false);
      expect(await balanceOf("alice")).toBe("25");
      expect(background.threadId()).toBe(stuck);
    } finally {
      inspector.close();
    }
    const successor = await replacementOf(background, stuck);
    expect(await t.platform.projector.waitFor(await t.platform.events.headPosition(), 30_000)).toBe(true);
    expect(await balanceOf("alice")).toBe("30");
    expect(logged("projector/relay thread unresponsive, terminating it")).toEqual([expect.objectContaining({ threadId: stuck })]);
    expect(logged("projector/relay thread ended, restarting")).toEqual([expect.objectContaining({ code: 1, restartInMs: 100 })]);
    expect(successor).not.toBe(stuck);
    await expectEqualToRebuild(t);
  });

  it("a thread terminated (the analog of SIGKILL) under load is started again, and the read models end equal to a rebuild from zero", async () => {
    const first = background.threadId()!;
    const users = Array.from({ length: 8 }, (_, i) => `load-${i}`);
    let acknowledged = 0;
    let terminated: Promise<number> | undefined;
    for (let round = 0; round < 40; round++) {
      const answers = await Promise.all(users.map((u) => pay(u)));
      acknowledged += answers.filter((a) => a.statusCode === 201).length;
      if (round === 10) terminated = threads.get(first).terminate();
    }
    expect(await terminated).toBe(1);
    expect(acknowledged).toBe(40 * users.length);
    const second = await replacementOf(background, first);
    expect(await t.platform.projector.waitFor(await t.platform.events.headPosition(), 60_000)).toBe(true);
    expect(background.threadId()).toBe(second);
    for (const u of users) expect(await balanceOf(u)).toBe("40");
    await expectEqualToRebuild(t);
  });

  it("a thread that keeps ending before it applies anything is started again after 0.1, 0.2, 0.4, 0.8 s (logged)", async () => {
    const before = logged("projector/relay thread ended, restarting").length;
    let ends = 0;
    threads.onStart((worker) =>
      // the supervisor's next threads, ended as soon as they start, three times
      setImmediate(() => worker.threadId === background.threadId() && ends < 3 && ++ends && void worker.terminate()),
    );
    await threads.get(background.threadId()!).terminate();
    while (ends < 3) await sleep(20);
    const last = background.threadId();
    await replacementOf(background, last ?? -1);
    const restarts = logged("projector/relay thread ended, restarting").slice(before);
    expect(restarts.map((r) => r.restartInMs)).toEqual([100, 200, 400, 800]);
    const paid = await pay("bob", "2");
    expect(await t.platform.projector.waitFor(paid.json().position, 30_000)).toBe(true);
  });

  it("closing the API stops the thread once its read models reached the head (a restart serves them complete)", async () => {
    const running = threads.get(background.threadId()!);
    const ended = new Promise<number>((resolve) => running.once("exit", resolve));
    expect((await pay("bob", "3")).statusCode).toBe(201); // not awaited by any read: the thread drains it on stop
    await t.root.close();
    expect(await ended).toBe(0);
    expect(background.threadId()).toBeUndefined();
    const events = openSqliteEventStore(join(t.dataDir, "events.db"));
    const reads = openSqliteReadStore(join(t.dataDir, "read.db"));
    expect(await readCheckpoint(reads)).toBe(await events.headPosition());
    await Promise.all([events.close(), reads.close()]);
  });
});

describe("the thread's projector lingering for more events (SQLite)", () => {
  let t: TestApp;
  beforeAll(async () => {
    // a 10-minute linger: only the API's hurry (a query waiting for a position) can end it in time
    t = await testApp({ LOG_LEVEL: "error" }, { background: true, projectorLingerMs: 600_000 });
  });
  afterAll(async () => t.close());

  it("a minPosition read of the API's own write is answered although the projector lingers after each batch", async () => {
    const pay = (amount: string) =>
      t.app.inject({ method: "POST", url: "/billing/payment/process", headers: t.admin, payload: { userId: "lin", amount } });
    const balanceAt = (position: number) => t.app.inject({ url: `/billing/balance/lin?minPosition=${position}`, headers: t.admin });
    for (const [amount, total] of [
      ["5", "5"],
      ["7", "12"],
      ["1", "13"],
    ] as const) {
      const paid = await pay(amount);
      expect(paid.statusCode).toBe(201);
      const balance = await balanceAt(paid.json().position); // 503 READ_MODEL.LAGGING after 5 s without the hurry
      expect(balance.statusCode, balance.body).toBe(200);
      expect(balance.json().balance).toBe(total);
    }
  });
});

describe("npm start's worker thread terminated while catching up a backlog (SQLite)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "aggregator-thread-crash-"));
  let head = 0;
  beforeAll(async () => {
    const events = openSqliteEventStore(join(dataDir, "events.db"));
    head = await appendWorkload(events, { users: 30, commands: 6000 });
    await events.close();
  });

  it("each terminated thread is replaced and resumes from the checkpoint: the read models end equal to a rebuild from zero", async () => {
    const threads = threadsOfThisProcess();
    const t = await testApp({ DATA_DIR: dataDir }, { background: true });
    const background = (await t.root.resolve(TOKENS.background))!;
    const watcher = openSqliteReadStore(join(dataDir, "read.db"));
    try {
      const checkpointsAtKill: number[] = [];
      for (const fraction of [0.05, 0.35, 0.7]) {
        // terminate it once it has worked through part of the backlog: while it is inside a batch
        while ((await readCheckpoint(watcher)) < Math.floor(head * fraction)) await sleep(2);
        const killed = background.threadId()!;
        expect(await threads.get(killed).terminate()).toBe(1);
        checkpointsAtKill.push(await readCheckpoint(watcher));
        await replacementOf(background, killed);
      }
      // at least one kill landed while the backlog was being worked through
      expect(
        checkpointsAtKill.some((c) => c < head),
        String(checkpointsAtKill),
      ).toBe(true);
      expect(await t.platform.projector.waitFor(head, 60_000)).toBe(true);
      await expectEqualToRebuild(t);
    } finally {
      threads.close();
      await watcher.close();
      await t.close();
    }
  });
});
