import OpenAI, { APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGatewayHarness, type GatewayHarness } from "../../test/harness/gateway-harness.ts";

const hi = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "hi" }] };

describe("orchestrator: catalog and routes", () => {
  let h: GatewayHarness;
  let key: string;
  beforeAll(async () => {
    h = await startGatewayHarness();
    await h.fund("o1", "10");
    key = (await h.key("o1")).key;
  });
  afterAll(() => h.close());

  const route = (body: Record<string, unknown>) =>
    h.t.app.inject({ method: "POST", url: "/orchestrator/route-request", headers: h.t.bearer(key), payload: body });

  it("GET /orchestrator/models: public, current prices and their effective-dated history", async () => {
    const r = await h.t.app.inject({ url: "/orchestrator/models" });
    expect(r.statusCode).toBe(200);
    const gpt4o = r.json().models.find((m: { id: string }) => m.id === "gpt-4o");
    expect(gpt4o.contextLength).toBe(128000);
    const openai = gpt4o.providers.find((p: { provider: string }) => p.provider === "openai");
    expect(openai).toMatchObject({
      upstreamId: "gpt-4o",
      configured: true,
      circuit: "closed",
      prices: { promptPerMillion: "2.5", completionPerMillion: "10" },
    });
    expect(openai.priceHistory).toEqual([
      { from: "2024-05-13T00:00:00Z", promptPerMillion: "5", completionPerMillion: "15" },
      { from: "2024-10-01T00:00:00Z", promptPerMillion: "2.5", completionPerMillion: "10" },
    ]);
  });

  it("route-request: the route by strategy with its fallbacks; unknown model 404", async () => {
    const r = await route({ model: "gpt-4o-mini" });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({
      model: "gpt-4o-mini",
      strategy: "priority",
      route: { provider: "openai", upstreamId: "gpt-4o-mini", prices: { promptPerMillion: "0.15" } },
      fallbacks: [{ provider: "openrouter", upstreamId: "openai/gpt-4o-mini" }],
      skipped: [],
    });
    expect((await route({ model: "gpt-4o-mini", strategy: "cheapest" })).json().route.provider).toBe("openai"); // same prices: priority breaks the tie
    expect((await route({ model: "llama-3.1-8b-instruct", provider: "openrouter" })).json()).toMatchObject({
      route: { provider: "openrouter" },
      fallbacks: [],
    });
    expect((await route({ model: "gpt-9" })).json()).toMatchObject({ status: 404, code: "MODEL.NOT_FOUND" });
    expect((await route({ model: "gpt-4o-mini", strategy: "random" })).statusCode).toBe(400);
  });

  it("a failing provider's circuit opens: it is skipped, and a pinned route answers 503 with Retry-After", async () => {
    h.fixture.script((r) => (r.provider === "openai" ? { status: 503 } : {}));
    const client = h.client(key);
    for (let i = 0; i < 5; i++) {
      const { response } = await client.chat.completions.create(hi).withResponse();
      expect(response.headers.get("x-aggregator-provider")).toBe("openrouter");
    }
    const r = await route({ model: "gpt-4o-mini" });
    expect(r.json()).toMatchObject({
      route: { provider: "openrouter" },
      fallbacks: [],
      skipped: [{ provider: "openai", reason: "circuit_open" }],
    });
    const before = h.fixture.received.length;
    const { response } = await client.chat.completions.create(hi).withResponse();
    expect(response.headers.get("x-aggregator-provider")).toBe("openrouter");
    expect(h.fixture.received.slice(before).map((x) => x.provider)).toEqual(["openrouter"]); // no attempt at the open circuit
    const pinned = new OpenAI({ apiKey: key, baseURL: `${h.url}/proxy/openai`, maxRetries: 0 });
    const error = (await pinned.chat.completions.create(hi).catch((e: unknown) => e)) as APIError;
    expect(error.status).toBe(503);
    expect(error.error).toMatchObject({ code: "PROVIDER.UNAVAILABLE" });
    expect(Number(error.headers?.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const models = (await h.t.app.inject({ url: "/orchestrator/models" })).json();
    expect(models.models[0].providers.find((p: { provider: string }) => p.provider === "openai").circuit).toBe("open");
    const providers = (await h.events("o1")).filter((e) => e.type === "ai_usage").map((e) => (e.data as { provider: string }).provider);
    expect(providers).toEqual(Array(6).fill("openrouter")); // every charged request, none at the failing provider
  });
});

describe("orchestrator without an OpenRouter key", () => {
  let h: GatewayHarness;
  beforeAll(async () => {
    h = await startGatewayHarness(undefined, { OPENROUTER_API_KEY: "" });
  });
  afterAll(() => h.close());

  it("skips the unconfigured provider; a model only it offers is unavailable", async () => {
    await h.fund("o2", "1");
    const { key } = await h.key("o2");
    const route = (model: string) =>
      h.t.app.inject({ method: "POST", url: "/orchestrator/route-request", headers: h.t.bearer(key), payload: { model } });
    expect((await route("gpt-4o-mini")).json()).toMatchObject({
      route: { provider: "openai" },
      fallbacks: [],
      skipped: [{ provider: "openrouter", reason: "not_configured" }],
    });
    const llama = await route("llama-3.1-8b-instruct");
    expect(llama.statusCode).toBe(503);
    expect(llama.json()).toMatchObject({ code: "PROVIDER.UNAVAILABLE", skipped: [{ provider: "openrouter", reason: "not_configured" }] });
  });
});
