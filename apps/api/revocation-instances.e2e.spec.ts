// Two API instances sharing the networked stores (events in PostgreSQL, read models in MongoDB/FerretDB),
// as several instances run in production; the embedded SQLite stores serve one `npm start` per DATA_DIR
// (infra/sqlite/instance-lock.int.spec.ts). Authentication reads keys from their own event streams: no
// projector runs anywhere, and no read model is written.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropMongoDatabase } from "../../test/engines/raw-clients.ts";
import { createPostgresDatabase, dropPostgresDatabase } from "../../test/engines/raw-postgres.ts";
import { engineUrl } from "../../test/engines/require-engine.ts";
import { apiKeys } from "../../projections/api-keys.ts";
import { testApp, type TestApp } from "../../test/harness/platform.ts";
import { AUTH_CACHE_TTL_MS } from "./auth.ts";

const postgresUrl = engineUrl("postgres", "POSTGRES_URL");
const mongoUrl = engineUrl("mongo", "MONGO_URL");

describe.skipIf(!postgresUrl || !mongoUrl)("revocation across API instances on PostgreSQL + MongoDB", () => {
  const MONGO_DB = `e2e_revocation_${randomUUID().slice(0, 8)}`;
  let database: { name: string; url: string };
  let a: TestApp, b: TestApp;

  beforeAll(async () => {
    database = await createPostgresDatabase(postgresUrl!, "e2e_revocation");
    const env = { EVENT_STORE: "postgres", POSTGRES_URL: database.url, READ_STORE: "mongo", MONGO_URL: mongoUrl!, MONGO_DB };
    a = await testApp({ ...env, RUN_PROJECTOR: "false" });
    b = await testApp({ ...env, RUN_PROJECTOR: "false" });
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await dropMongoDatabase(mongoUrl!, MONGO_DB);
    if (database) await dropPostgresDatabase(postgresUrl!, database.name);
  });

  it(`another instance refuses a revoked key once its ${AUTH_CACHE_TTL_MS} ms auth cache entry ran out, with no projector running`, async () => {
    const minted = await a.app.inject({
      method: "POST",
      url: "/auth/api-keys",
      headers: a.admin,
      payload: { userId: "alice", name: "two" },
    });
    expect(minted.statusCode, minted.body).toBe(201);
    const key = minted.json() as { id: string; key: string };
    const onB = () => b.app.inject({ url: `/auth/me`, headers: b.bearer(key.key) });
    expect((await onB()).statusCode).toBe(200); // B reads the key from its stream and caches it as active
    expect((await a.app.inject({ method: "DELETE", url: `/auth/api-keys/${key.id}`, headers: a.admin })).statusCode).toBe(200);
    expect((await a.app.inject({ url: `/auth/me`, headers: a.bearer(key.key) })).statusCode).toBe(401); // at once where acknowledged
    const acknowledged = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - acknowledged < 30_000) {
      status = (await onB()).statusCode;
      if (status === 200) await new Promise((r) => setTimeout(r, 20));
    }
    console.info(`revocation reached the other instance after ${Date.now() - acknowledged} ms`);
    expect(status).toBe(401);
    expect((await onB()).json().code).toBe("AUTH.KEY_REVOKED");
    expect(await apiKeys(a.platform.reads).count()).toBe(0); // no read model was involved
  });
});
