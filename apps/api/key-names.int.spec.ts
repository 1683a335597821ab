import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testApp, type TestApp } from "../../test/harness/platform.ts";

// README "Key names are unique among a user's active keys", under concurrency: a creation claims the
// name on its reservation stream at the exact revision, so of the requests racing on one name exactly
// one wins, in one instance or across two sharing the stores (the cluster test does it across processes).
describe("key names under concurrency", () => {
  let t: TestApp, other: TestApp;
  beforeAll(async () => {
    t = await testApp();
    other = await testApp({ DATA_DIR: t.dataDir, RUN_PROJECTOR: "false" });
  });
  afterAll(async () => {
    await other.close(false);
    await t.close();
  });

  const create = (userId: string, name: string, on: TestApp = t) =>
    on.app.inject({ method: "POST", url: "/auth/api-keys", headers: on.admin, payload: { userId, name } });

  it("50 concurrent creations of one name over two instances: one 201, forty-nine 409, one active key of that name", async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => create("race", "laptop", i % 2 ? other : t)));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([201, ...Array(49).fill(409)]);
    expect(answers.filter((a) => a.statusCode === 409).every((a) => a.json().code === "API_KEY.NAME_TAKEN")).toBe(true);
    const list = await t.app.inject({
      url: `/auth/api-keys?userId=race&minPosition=${answers.find((a) => a.statusCode === 201)!.json().position}`,
      headers: t.admin,
    });
    expect(list.json().items.map((k: { name: string; status: string }) => `${k.name}:${k.status}`)).toEqual(["laptop:active"]);
  });

  it("other names and other users are not held up by the race", async () => {
    const answers = await Promise.all([create("race2", "a"), create("race2", "b"), create("race3", "a")]);
    expect(answers.map((a) => a.statusCode)).toEqual([201, 201, 201]);
  });

  it("revoked on one instance, the name is free on the other at once", async () => {
    const first = (await create("reuse", "ci")).json() as { id: string };
    expect((await t.app.inject({ method: "DELETE", url: `/auth/api-keys/${first.id}`, headers: t.admin })).statusCode).toBe(200);
    expect((await create("reuse", "ci", other)).statusCode).toBe(201);
    expect((await create("reuse", "ci")).statusCode).toBe(409);
  });

  it("a claim whose key was never created (its instance died in between) holds the name for a minute, then is taken over", async () => {
    const claimAt = (userId: string, now: string) =>
      t.platform.keyNames.handle(
        { userId, name: "half" },
        { type: "claimKeyName", now, data: { userId, name: "half", keyId: `key_never_${userId}`, replaces: null } },
        { actor: { type: "system", id: "test" }, correlationId: userId, now },
      );
    await claimAt("died-now", new Date().toISOString());
    await claimAt("died-before", new Date(Date.now() - 61_000).toISOString());
    expect((await create("died-now", "half")).json().code).toBe("API_KEY.NAME_TAKEN");
    expect((await create("died-before", "half", other)).statusCode).toBe(201);
    expect((await create("died-before", "half")).json().code).toBe("API_KEY.NAME_TAKEN"); // now held by that key
  });
});
