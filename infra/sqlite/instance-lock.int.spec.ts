import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startServer } from "../../test/harness/server.ts";

// Real `npm start` processes on one DATA_DIR: the second is refused, naming the first; a SIGKILLed holder
// frees the DATA_DIR (the kernel drops its lock), its projector thread gone with it (npm start has no child).
describe("one npm start per DATA_DIR on the embedded SQLite stores", () => {
  const dir = mkdtempSync(join(tmpdir(), "aggregator-lock-"));
  const ADMIN_TOKEN = "lock-test-admin-token-0123";
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses a second npm start with the holder's pid, and starts again once the holder was killed", async () => {
    const first = await startServer({ DATA_DIR: dir, ADMIN_TOKEN });
    let killed = false;
    try {
      const paid = await fetch(`${first.url}/billing/payment/process`, {
        method: "POST",
        headers: admin,
        body: JSON.stringify({ userId: "alice", amount: "7" }),
      });
      expect(paid.status).toBe(201);

      const second = startServer({ DATA_DIR: dir, ADMIN_TOKEN });
      await expect(second).rejects.toThrow(`server exited 1`);
      await expect(second).rejects.toThrow(`DATA_DIR ${dir} is in use by another npm start (pid ${first.pid})`);
      expect((await fetch(`${first.url}/ready`)).status).toBe(200);

      // the projector runs in a thread of the server, not in a process that could outlive it
      const { position } = (await paid.json()) as { position: number };
      expect((await fetch(`${first.url}/billing/balance/alice?minPosition=${position}`, { headers: admin })).status).toBe(200);
      expect(readFileSync(`/proc/${first.pid}/task/${first.pid}/children`, "utf8").trim()).toBe("");
      await first.kill();
      killed = true;
    } finally {
      if (!killed) await first.kill();
    }

    const third = await startServer({ DATA_DIR: dir, ADMIN_TOKEN });
    try {
      const { headPosition: head } = (await (await fetch(`${third.url}/ready`)).json()) as { headPosition: number };
      const balance = await fetch(`${third.url}/billing/balance/alice?minPosition=${head}`, { headers: admin });
      expect(balance.status).toBe(200);
      expect(((await balance.json()) as { balance: string }).balance).toBe("7");
    } finally {
      await third.stop();
    }
  });
});
