import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { accountStream } from "../../domain/events.ts";
import { openSqliteEventStore } from "../../infra/sqlite/event-store.ts";
import { UPSTREAM_KEYS } from "../../test/harness/gateway-harness.ts";
import { startServer } from "../../test/harness/server.ts";
import { startUpstreamFixture } from "../../test/fixtures/upstream-fixture.ts";

// README "Commands": a bad configuration value stops `npm start` with one line naming the variable;
// SIGTERM stops taking requests but finishes the ones in flight (their charge included), then exits 0.
const ADMIN = "startup-admin-token-0123456789";

describe("npm start: configuration and shutdown", () => {
  const dir = mkdtempSync(join(tmpdir(), "startup-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ["PORT", "http"],
    ["ADMIN_TOKEN", "short"],
  ])("%s=%s: exits 1 with one line naming it", async (name, value) => {
    const error = (await startServer({ DATA_DIR: dir, [name]: value }).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/^server exited 1:/);
    const lines = error.message.split("\n").slice(1).filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^invalid configuration: ${name}: `));
  });

  it("SIGTERM finishes the request in flight and its charge, then exits 0", async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const fixture = await startUpstreamFixture(() => ({ gate, usage: { prompt_tokens: 10, completion_tokens: 2 } }));
    const server = await startServer({
      DATA_DIR: dir,
      ADMIN_TOKEN: ADMIN,
      OPENAI_BASE_URL: fixture.baseUrl("openai"),
      OPENAI_API_KEY: UPSTREAM_KEYS.openai,
      OPENROUTER_BASE_URL: fixture.baseUrl("openrouter"),
      OPENROUTER_API_KEY: UPSTREAM_KEYS.openrouter,
    });
    try {
      const admin = (path: string, body: object) =>
        fetch(`${server.url}${path}`, {
          method: "POST",
          headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      expect((await admin("/billing/payment/process", { userId: "term", amount: "1" })).status).toBe(201);
      const { key } = (await (await admin("/auth/api-keys", { userId: "term", name: "k" })).json()) as { key: string };
      const inFlight = fetch(`${server.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
      });
      while (fixture.received.length === 0) await sleep(10); // the request reached the provider and waits there
      const stopped = server.stop(); // SIGTERM
      // shutting down: it takes no new requests (503 or refused) while this one is held at the provider
      while (
        (await fetch(`${server.url}/health`).then(
          (r) => r.status,
          () => 0,
        )) === 200
      )
        await sleep(10);
      open();
      const answer = await inFlight;
      expect(answer.status).toBe(200);
      expect(((await answer.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe(
        "Hello from fixture",
      );
      expect(await stopped).toBe(0);
      const store = openSqliteEventStore(join(dir, "events.db"));
      // 10 × 0.15 + 2 × 0.60 = 1.5 + 1.2 = 2.7 micro-USD → 3
      expect(
        (await store.readStream(accountStream("term"))).filter((e) => e.type === "ai_usage").map((e) => (e.data as { cost: number }).cost),
      ).toEqual([3]);
      await store.close();
    } finally {
      await server.stop();
      await fixture.close();
    }
  });
});
