import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { engineUrl } from "../../test/engines/require-engine.ts";
import { dropMongoDatabase } from "../../test/engines/raw-clients.ts";
import { freePort, startServer } from "../../test/harness/server.ts";

// README "Commands": /ready is 503 SYSTEM.NOT_READY while the read store is unreachable and 200 again
// once it is back. `npm start` reads its models from FerretDB (READ_STORE=mongo) through a TCP relay
// this test owns; the outage is the relay closing (listener and every connection), the recovery is it
// listening again on the same port. The shared FerretDB itself is never touched.

const mongoUrl = engineUrl("mongo", "MONGO_URL");
const MONGO_DB = `ready_${randomBytes(4).toString("hex")}`;

/** a TCP relay to host:port that can be cut and restored */
async function tcpRelay(target: URL) {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const up = async () => {
    server = createServer((client) => {
      const upstream = connect(Number(target.port || 27017), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
        s.on("error", () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    }).listen(port, "127.0.0.1");
    await once(server, "listening");
  };
  const down = async () => {
    const closed = new Promise((resolve) => server!.close(resolve));
    for (const s of sockets) s.destroy();
    await closed;
  };
  await up();
  return { port, up, down };
}

describe.skipIf(!mongoUrl)("/ready with the read store unreachable (npm start, READ_STORE=mongo)", () => {
  const dir = mkdtempSync(join(tmpdir(), "ready-read-store-"));
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  let relay: Awaited<ReturnType<typeof tcpRelay>> | undefined;
  afterAll(async () => {
    await server?.stop();
    await relay?.down().catch(() => undefined);
    await dropMongoDatabase(mongoUrl!, MONGO_DB).catch((e: unknown) => console.error(`could not drop ${MONGO_DB}:`, e));
    rmSync(dir, { recursive: true, force: true });
  });

  /** polls /ready until it answers `status` (a bounded number of tries, no timing asserted) */
  async function readyBecomes(status: number) {
    let last: { status: number; body: { status?: string; code?: string } } | undefined;
    for (let i = 0; i < 60; i++) {
      const res = await fetch(`${server!.url}/ready`);
      last = { status: res.status, body: (await res.json()) as { status?: string; code?: string } };
      if (last.status === status) return last;
      await sleep(500);
    }
    return last;
  }

  it("turns 503 SYSTEM.NOT_READY while FerretDB cannot be reached, and 200 once it can again", { timeout: 180_000 }, async () => {
    const target = new URL(mongoUrl!);
    relay = await tcpRelay(target);
    const viaRelay = new URL(mongoUrl!);
    viaRelay.host = `127.0.0.1:${relay.port}`;
    server = await startServer({ DATA_DIR: dir, READ_STORE: "mongo", MONGO_URL: viaRelay.href, MONGO_DB });
    expect(await readyBecomes(200)).toMatchObject({ status: 200, body: { status: "ready", readStore: "up" } });

    await relay.down();
    expect(await readyBecomes(503)).toMatchObject({ status: 503, body: { code: "SYSTEM.NOT_READY" } });
    expect((await fetch(`${server.url}/health`)).status).toBe(200); // alive, only not ready

    await relay.up();
    expect(await readyBecomes(200)).toMatchObject({ status: 200, body: { status: "ready", readStore: "up" } });
  });
});
