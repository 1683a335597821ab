import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testApp, type TestApp } from "../../test/harness/platform.ts";

// README "Key names are unique among a user's active keys", under concurrency: requests racing on one
// name in one instance go through the per-user queue, so exactly one wins.
describe("key names under concurrency", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp();
  });
  afterAll(() => t.close());

  const create = (userId: string, name: string) =>
    t.app.inject({ method: "POST", url: "/auth/api-keys", headers: t.admin, payload: { userId, name } });

  it("10 concurrent creations of one name: one 201, nine 409, one active key of that name", async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, () => create("race", "laptop")));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([201, ...Array(9).fill(409)]);
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
});
