import { join } from "node:path";
import { isAlive } from "../../test/harness/server.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqliteEventStore } from "../../infra/sqlite/event-store.ts";
import { openSqliteReadStore } from "../../infra/sqlite/read-store.ts";
import { readCheckpoint } from "../../projections/checkpoints.ts";
import { dumpReadModels, projectToHead } from "../../test/harness/read-models.ts";
import { testApp, type TestApp } from "../../test/harness/platform.ts";
import { TOKENS } from "../composition/container.ts";
import type { BackgroundProcess } from "./supervisor.ts";

// `npm start`'s composition (background: true): the projector runs in a child process, not in the API's.
describe("the projector in npm start's child process (SQLite)", () => {
  let t: TestApp;
  let child: BackgroundProcess;
  const pay = (userId: string, amount = "1") =>
    t.app.inject({ method: "POST", url: "/billing/payment/process", headers: t.admin, payload: { userId, amount } });

  beforeAll(async () => {
    t = await testApp({}, { background: true });
    child = (await t.root.resolve(TOKENS.background))!;
  });
  afterAll(() => t.close());

  it("applies what the API appends; a minPosition read sees the API's own write", async () => {
    expect(child.pid()).toBeGreaterThan(0);
    expect(child.pid()).not.toBe(process.pid);
    const paid = await pay("alice", "25");
    expect(paid.statusCode).toBe(201);
    const balance = await t.app.inject({ url: `/billing/balance/alice?minPosition=${paid.json().position}`, headers: t.admin });
    expect(balance.statusCode, balance.body).toBe(200);
    expect(balance.json().balance).toBe("25");
  });

  it("the API process applies nothing itself: with the child stopped, commands are acknowledged and read models stand still", async () => {
    const pid = child.pid()!;
    process.kill(pid, "SIGSTOP");
    try {
      const paid = await pay("alice", "5");
      expect(paid.statusCode).toBe(201);
      expect(await t.platform.projector.waitFor(paid.json().position, 500)).toBe(false);
      const stale = await t.app.inject({ url: "/billing/balance/alice", headers: t.admin });
      expect(stale.json().balance).toBe("25");
    } finally {
      process.kill(pid, "SIGCONT");
    }
    const head = await t.platform.events.headPosition();
    expect(await t.platform.projector.waitFor(head, 30_000)).toBe(true);
    expect((await t.app.inject({ url: "/billing/balance/alice", headers: t.admin })).json().balance).toBe("30");
  });

  it("a child killed (SIGKILL) under load is started again, and the read models end equal to a rebuild from zero", async () => {
    const first = child.pid()!;
    const users = Array.from({ length: 8 }, (_, i) => `load-${i}`);
    let acknowledged = 0;
    const load = (async () => {
      for (let round = 0; round < 40; round++) {
        const answers = await Promise.all(users.map((u) => pay(u)));
        acknowledged += answers.filter((a) => a.statusCode === 201).length;
        if (round === 10) process.kill(first, "SIGKILL");
      }
    })();
    await load;
    expect(acknowledged).toBe(40 * users.length);
    const head = await t.platform.events.headPosition();
    expect(await t.platform.projector.waitFor(head, 60_000)).toBe(true);
    expect(isAlive(first)).toBe(false);
    expect(child.pid()).not.toBe(first);
    for (const u of users) expect((await t.app.inject({ url: `/billing/balance/${u}`, headers: t.admin })).json().balance).toBe("40");

    const events = openSqliteEventStore(join(t.dataDir, "events.db"));
    const fresh = openSqliteReadStore(join(t.dataDir, "fresh.db"));
    await projectToHead(events, fresh);
    expect(await dumpReadModels(t.platform.reads)).toEqual(await dumpReadModels(fresh));
    await Promise.all([events.close(), fresh.close()]);
  });

  it("closing the API stops the child once its read models reached the head (a restart serves them complete)", async () => {
    const pid = child.pid()!;
    expect((await pay("bob", "3")).statusCode).toBe(201); // not awaited by any read: the child drains it on stop
    await t.root.close();
    expect(isAlive(pid)).toBe(false);
    const events = openSqliteEventStore(join(t.dataDir, "events.db"));
    const reads = openSqliteReadStore(join(t.dataDir, "read.db"));
    expect(await readCheckpoint(reads)).toBe(await events.headPosition());
    await Promise.all([events.close(), reads.close()]);
  });
});
