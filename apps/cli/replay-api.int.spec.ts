import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../test/harness/cli.ts";
import { ADMIN_TOKEN, testApp, type TestApp } from "../../test/harness/platform.ts";
import { seedHistory } from "../../test/fixtures/seed.ts";

// `aggregator replay --source api`: the same lines as GET /events from a running server, and with
// --follow the events appended after it started (GET /events?follow=true).

let t: TestApp;
let url: string;
beforeAll(async () => {
  t = await testApp();
  await seedHistory(t, { accounts: 2, usage: 2, prefix: "cli-api" });
  await t.app.listen({ port: 0, host: "127.0.0.1" });
  url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
afterAll(() => t.close());

const env = { ADMIN_TOKEN, DATA_DIR: "/nonexistent-not-needed" };

describe("aggregator replay --source api", () => {
  it("writes what GET /events gives, with the same filters, as NDJSON or CSV", async () => {
    const direct = (await t.app.inject({ url: "/events?userId=cli-api-1&types=transaction_created", headers: t.admin })).body;
    const run = await runCli(["replay", "--source", "api", "--url", url, "--user", "cli-api-1", "--types", "transaction_created"], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(direct);
    expect(run.stdout.split("\n").length - 1).toBeGreaterThan(3);
    const csv = await runCli(
      ["replay", "--source", "api", "--url", url, "--user", "cli-api-1", "--types", "transaction_created", "--format", "csv"],
      env,
    );
    expect(csv.stdout.split("\r\n").filter(Boolean)).toHaveLength(run.stdout.split("\n").length); // header + one row per event
  });

  it("--follow tails the live server: events appended after it started arrive, until --limit", async () => {
    const head = await t.platform.events.headPosition();
    const tail = runCli(["replay", "--source", "api", "--url", url, "--from-position", String(head), "--follow", "--limit", "2"], env);
    const paid = await t.app.inject({
      method: "POST",
      url: "/billing/payment/process",
      headers: t.admin,
      payload: { userId: "cli-api-late", amount: "2" },
    });
    expect(paid.statusCode).toBe(201);
    const run = await tail;
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.type)).toEqual(["payment_processed", "transaction_created"]);
    expect(lines.every((l) => l.data.userId === "cli-api-late" && l.position > head)).toBe(true);
  });

  it("a refused token is one clear line and a failure exit code", async () => {
    const run = await runCli(["replay", "--source", "api", "--url", url], { ...env, ADMIN_TOKEN: "wrong-token-0123456789" });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain("GET /events answered 401");
  });
});
