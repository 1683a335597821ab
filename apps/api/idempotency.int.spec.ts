import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyticsStream } from "../../domain/events.ts";
import { testApp, type TestApp } from "../../test/harness/platform.ts";
import { idempotencyRecords } from "./idempotency.ts";

// Idempotency-Key records belong to the principal that made them, are consulted only after
// authentication, scope, owner and validation, and never hold a key secret.
describe("Idempotency-Key cannot leak", () => {
  let t: TestApp;
  const records = () => idempotencyRecords(t.platform.reads).find({});
  const create = (token: string, idem: string, payload: object) =>
    t.app.inject({ method: "POST", url: "/auth/api-keys", headers: { ...t.bearer(token), "idempotency-key": idem }, payload });
  const adminKey = async (userId: string, name: string, scopes: string[]) => {
    const r = await t.app.inject({ method: "POST", url: "/auth/api-keys", headers: t.admin, payload: { userId, name, scopes } });
    expect(r.statusCode).toBe(201);
    return r.json() as { id: string; key: string };
  };

  beforeAll(async () => {
    t = await testApp();
  });
  afterAll(() => t.close());

  it("a replayed key creation carries the key's metadata without its secret, and says so", async () => {
    const first = await t.app.inject({
      method: "POST",
      url: "/auth/api-keys",
      headers: { ...t.admin, "idempotency-key": "create-key-0001" },
      payload: { userId: "ann", name: "ci" },
    });
    expect(first.statusCode).toBe(201);
    expect(first.json().key).toMatch(/^aia_/);
    const replay = await t.app.inject({
      method: "POST",
      url: "/auth/api-keys",
      headers: { ...t.admin, "idempotency-key": "create-key-0001" },
      payload: { userId: "ann", name: "ci" },
    });
    expect(replay.statusCode).toBe(201);
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    const { key, ...metadata } = first.json();
    expect(replay.json()).toEqual({ ...metadata, key: null, secretShown: false });
    expect(replay.body).not.toContain(key.slice(4));
  });

  it("another key of the same user with the same Idempotency-Key and body gets its own execution, not the other's response", async () => {
    const a = await adminKey("ann", "minter-a", ["chat", "keys"]);
    const b = await adminKey("ann", "minter-b", ["chat", "keys"]);
    const body = { name: "shared-name", scopes: ["chat"] };
    const first = await create(a.key, "same-key-two-callers", body);
    expect(first.statusCode).toBe(201);
    const secret = first.json().key as string;
    const second = await create(b.key, "same-key-two-callers", body);
    expect(second.headers["idempotent-replayed"]).toBeUndefined();
    expect(second.statusCode).toBe(409); // its own run: the name is taken by the key a created
    expect(second.json().code).toBe("API_KEY.NAME_TAKEN");
    expect(second.body).not.toContain(secret.slice(4));

    const writerA = await adminKey("ann", "writer-a", ["analytics:write"]);
    const writerB = await adminKey("ann", "writer-b", ["analytics:write"]);
    for (const writer of [writerA, writerB]) {
      const r = await t.app.inject({
        method: "POST",
        url: "/analytics/track-event",
        headers: { ...t.bearer(writer.key), "idempotency-key": "track-same-0001" },
        payload: { name: "opened" },
      });
      expect(r.statusCode).toBe(202);
      expect(r.headers["idempotent-replayed"]).toBeUndefined();
    }
    const tracked = await t.platform.events.readStream(analyticsStream("ann"));
    expect(tracked.filter((e) => e.type === "analytics_event_tracked" && e.data.name === "opened")).toHaveLength(2);
  });

  it("authentication, scope and owner are checked before any replay, and a refused request claims nothing", async () => {
    const body = { userId: "ann", name: "replay-target", scopes: ["chat"] };
    const original = await create("test-admin-token-0123456789", "replay-after-refusal", body);
    expect(original.statusCode).toBe(201);
    const before = (await records()).length;

    const chatOnly = await adminKey("ann", "chat-only", ["chat"]);
    expect((await create(chatOnly.key, "replay-after-refusal", body)).statusCode).toBe(403);
    expect((await create("garbage", "replay-after-refusal", body)).statusCode).toBe(401);
    const noToken = await t.app.inject({
      method: "POST",
      url: "/auth/api-keys",
      headers: { "idempotency-key": "replay-after-refusal" },
      payload: body,
    });
    expect(noToken.statusCode).toBe(401);
    const stranger = await adminKey("bea", "stranger", ["chat", "keys"]);
    const foreign = await create(stranger.key, "replay-after-refusal", body);
    expect(foreign.statusCode).toBe(404);
    expect(foreign.headers["idempotent-replayed"]).toBeUndefined();
    expect((await records()).length).toBe(before);

    // the key that made a request, once revoked, gets 401, not its stored response
    const minter = await adminKey("ann", "soon-revoked", ["chat", "keys"]);
    expect((await create(minter.key, "made-then-revoked", { name: "child", scopes: ["chat"] })).statusCode).toBe(201);
    expect((await t.app.inject({ method: "DELETE", url: `/auth/api-keys/${minter.id}`, headers: t.admin })).statusCode).toBe(200);
    const replay = await create(minter.key, "made-then-revoked", { name: "child", scopes: ["chat"] });
    expect(replay.statusCode).toBe(401);
    expect(replay.headers["idempotent-replayed"]).toBeUndefined();
  });

  it("the stored records hold no key secret", async () => {
    const stored = await records();
    const created = stored.map((r) => JSON.parse(r.body!)).filter((b) => "prefix" in b);
    expect(created.length).toBeGreaterThanOrEqual(3);
    for (const body of created) expect(body).toMatchObject({ key: null, secretShown: false });
    expect(JSON.stringify(stored)).not.toMatch(/aia_[A-Za-z0-9]+_[A-Za-z0-9]{20,}/);
  });
});
