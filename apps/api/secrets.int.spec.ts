import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashApiKey } from "../../domain/api-key.ts";
import { startUpstreamFixture, type UpstreamFixture } from "../../test/fixtures/upstream-fixture.ts";
import { testApp, type TestApp } from "../../test/harness/platform.ts";

// Key secrets, the admin token and the upstream provider key never reach the stores' files (read as
// raw bytes, WAL included) nor the logs (trace level, every line captured).

const ADMIN = "secrets-admin-token-7f3a9c1e5b";
const UPSTREAM = "sk-fake-upstream-key-5d2e8b41c9";

describe("secrets stay secret", () => {
  let fixture: UpstreamFixture;
  let dataDir: string;
  let t: TestApp;
  let log = "";
  const keys: { key: string; prefix: string }[] = [];
  const secrets = () => [ADMIN, UPSTREAM, ...keys.flatMap(({ key, prefix }) => [key, key.slice(`aia_${prefix}_`.length, -6)])];
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  const files = () => ["events.db", "events.db-wal", "read.db", "read.db-wal"].map((f) => join(dataDir, f)).filter(existsSync);

  beforeAll(async () => {
    fixture = await startUpstreamFixture((r) => (JSON.stringify(r.body).includes("please fail") ? { status: 500 } : undefined));
    dataDir = mkdtempSync(join(tmpdir(), "aggregator-secrets-"));
    const logStream = new Writable({ write: (chunk, _enc, done) => ((log += chunk.toString()), done()) });
    const env = {
      DATA_DIR: dataDir,
      ADMIN_TOKEN: ADMIN,
      OPENAI_API_KEY: UPSTREAM,
      OPENAI_BASE_URL: fixture.baseUrl("openai"),
      LOG_LEVEL: "trace",
    };
    t = await testApp(env, { logStream });
    const { app } = t;

    const create = async (token: string, payload: object, headers: Record<string, string> = {}) => {
      const r = await app.inject({ method: "POST", url: "/auth/api-keys", headers: { ...auth(token), ...headers }, payload });
      expect(r.statusCode, r.body).toBe(201);
      if (r.json().key && !keys.some((k) => k.key === r.json().key)) keys.push(r.json());
      return r;
    };
    await app.inject({ method: "POST", url: "/billing/payment/process", headers: auth(ADMIN), payload: { userId: "sam", amount: "5" } });
    const plain = await create(ADMIN, { userId: "sam", name: "plain", scopes: ["chat", "keys"] });
    await create(ADMIN, { userId: "sam", name: "idem" }, { "idempotency-key": "secrets-create-0001" });
    const replay = await create(ADMIN, { userId: "sam", name: "idem" }, { "idempotency-key": "secrets-create-0001" });
    expect(replay.json().key).toBeNull();
    await create(plain.json().key, { name: "child", scopes: ["chat"] }, { "idempotency-key": "secrets-child-0001" });
    const chatKey = plain.json().key as string;
    const chat = (content: string) =>
      app.inject({
        method: "POST",
        url: "/proxy/openai/chat/completions",
        headers: auth(chatKey),
        payload: { model: "gpt-4o-mini", messages: [{ role: "user", content }], max_tokens: 5 },
      });
    expect((await chat("hi")).statusCode).toBe(200);
    expect((await chat("please fail")).statusCode).toBeGreaterThanOrEqual(500);
    expect(
      (await app.inject({ url: "/billing/balance/sam", headers: auth(`${chatKey.slice(0, -1)}${chatKey.endsWith("0") ? "1" : "0"}`) }))
        .statusCode,
    ).toBe(401);
    await t.platform.projector.catchUp();
  });
  afterAll(async () => {
    await t?.close(false);
    await fixture?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("the event store and read store files hold no key secret, admin token or upstream key (only hashes)", () => {
    expect(keys.length).toBe(3);
    const bytes = files().map((f) => [f, readFileSync(f)] as const);
    expect(bytes.map(([f]) => f.split("/").pop())).toEqual(expect.arrayContaining(["events.db", "read.db"]));
    // the files are the ones written: every key's hash is there
    for (const { key } of keys) expect(bytes.some(([, b]) => b.includes(hashApiKey(key)))).toBe(true);
    for (const [file, b] of bytes) for (const secret of secrets()) expect(b.includes(secret), `${file} holds a secret`).toBe(false);
  });

  it("the trace-level logs hold no key secret, admin token or upstream key", () => {
    // every request wrote its line (at trace as at info, one per request: the app writes no debug/trace line of its own)
    expect(log.split("\n").filter((line) => line.includes('"msg":"request"')).length).toBeGreaterThanOrEqual(8);
    expect(log).toContain("key_"); // and they name the actor by key id
    for (const secret of secrets()) expect(log.includes(secret), "a log line holds a secret").toBe(false);
  });

  it("the upstream key travelled only in the upstream Authorization header", () => {
    expect(fixture.received.map((r) => r.headers.authorization)).toContain(`Bearer ${UPSTREAM}`);
  });
});
