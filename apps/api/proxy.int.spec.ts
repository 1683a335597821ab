import { APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { AiUsage, RecordedEvent } from "../../domain/events.ts";
import { startGatewayHarness, UPSTREAM_KEYS, type GatewayHarness } from "../../test/harness/gateway-harness.ts";

// The gateway end to end: the official openai SDK → our /v1 → the local upstream fixture.
// Every check of the account stream runs right after the SDK call returns: settlement is durable
// before the last byte, so nothing here waits for it. Expected costs are worked out by hand from
// infra/catalog/models.json (micro-USD per million tokens), never by the function the gateway charges with.

const MINI = { promptPerMillion: 150_000, completionPerMillion: 600_000 };
const usages = (events: RecordedEvent[]) => events.filter((e): e is RecordedEvent<AiUsage> => e.type === "ai_usage");
const types = (events: RecordedEvent[]) =>
  events.map((e) => e.type).filter((t) => t !== "payment_processed" && t !== "transaction_created");

describe("OpenAI-compatible proxy", () => {
  let h: GatewayHarness;
  let n = 0;
  /** a funded user with a fresh key and its SDK client */
  const user = async (amount = "10") => {
    const userId = `u${++n}`;
    await h.fund(userId, amount);
    const { key } = await h.key(userId);
    return { userId, key, client: h.client(key) };
  };
  beforeAll(async () => {
    h = await startGatewayHarness();
  });
  afterAll(() => h.close());

  it("plain: forwards with the upstream key in Authorization only and charges reported tokens × catalog prices", async () => {
    h.fixture.script(() => ({ usage: { prompt_tokens: 1234, completion_tokens: 567 } }));
    const { userId, key, client } = await user();
    const { data, response } = await client.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe("Hello from fixture");
    expect(response.headers.get("x-aggregator-provider")).toBe("openai");
    const cost = 526; // 1234 × 0.15 + 567 × 0.60 micro-USD per token = 185.1 + 340.2 = 525.3, rounded up
    expect(response.headers.get("x-aggregator-cost")).toBe("0.000526");
    expect(await h.ledger(userId)).toEqual({ balance: 10_000_000 - cost, held: 0 });
    const events = await h.events(userId);
    expect(types(events)).toEqual(["usage_reserved", "ai_usage", "usage_released"]);
    const [usage] = usages(events);
    expect(usage!.data).toMatchObject({
      provider: "openai",
      model: "gpt-4o-mini",
      promptTokens: 1234,
      completionTokens: 567,
      cost,
      usageSource: "provider",
    });
    expect(usage!.data.prices).toEqual({ ...MINI, catalogVersion: h.t.platform.catalog.version });
    // the settlement is one append: ai_usage, its transaction and the release are adjacent in $all
    const settled = events.slice(-3);
    expect(settled.map((e) => e.type)).toEqual(["ai_usage", "transaction_created", "usage_released"]);
    expect(settled[2]!.position - settled[0]!.position).toBe(2);

    const upstream = h.fixture.received.at(-1)!;
    expect(upstream.url).toBe("/openai/v1/chat/completions");
    expect(upstream.headers.authorization).toBe(`Bearer ${UPSTREAM_KEYS.openai}`);
    const elsewhere = JSON.stringify({ ...upstream.headers, authorization: undefined }) + upstream.rawBody + upstream.url;
    expect(elsewhere).not.toContain(UPSTREAM_KEYS.openai);
    expect(elsewhere).not.toContain(key);
    expect(upstream.headers["x-stainless-lang"]).toBeUndefined(); // client headers are not forwarded
  });

  it("stream: forces include_usage upstream, hides the usage chunk the client did not ask for, charges it exactly", async () => {
    h.fixture.script(() => ({ usage: { prompt_tokens: 2000, completion_tokens: 1000 } }));
    const { userId, client } = await user();
    const stream = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("Hello from fixture");
    expect(chunks.every((c) => c.choices.length === 1 && !c.usage)).toBe(true);
    expect(h.fixture.received.at(-1)!.body!.stream_options).toEqual({ include_usage: true });
    const [usage] = usages(await h.events(userId));
    // 2000 × 0.15 + 1000 × 0.60 = 300 + 600 = 900 micro-USD
    expect(usage!.data).toMatchObject({ promptTokens: 2000, completionTokens: 1000, cost: 900, usageSource: "provider" });
    expect(await h.ledger(userId)).toEqual({ balance: 10_000_000 - 900, held: 0 });
  });

  it("stream with include_usage: the client gets the provider's usage chunk", async () => {
    h.fixture.script(() => ({ usage: { prompt_tokens: 7, completion_tokens: 3 } }));
    const { client } = await user();
    const stream = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.at(-1)!.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 3 });
  });

  it("primary provider failing → the fallback serves; the failed attempt costs nothing", async () => {
    h.fixture.script((r) =>
      r.provider === "openai"
        ? { status: 500, errorBody: { error: { message: `down ${UPSTREAM_KEYS.openai}` } } }
        : { usage: { prompt_tokens: 100, completion_tokens: 50 } },
    );
    const { userId, client } = await user();
    const before = h.fixture.received.length;
    const { response } = await client.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    expect(response.headers.get("x-aggregator-provider")).toBe("openrouter");
    expect(h.fixture.received.slice(before).map((r) => r.provider)).toEqual(["openai", "openrouter"]);
    expect(h.fixture.received.at(-1)!.body!.model).toBe("openai/gpt-4o-mini");
    const events = await h.events(userId);
    expect(types(events)).toEqual(["usage_reserved", "ai_usage", "usage_released"]);
    expect(usages(events)[0]!.data).toMatchObject({ provider: "openrouter", cost: 45 }); // 100 × 0.15 + 50 × 0.60 = 15 + 30
    expect(await h.ledger(userId)).toEqual({ balance: 10_000_000 - 45, held: 0 });

    // a provider-pinned route has no fallback: 502, nothing charged, nothing of the upstream leaks
    const pinned = await fetch(`${h.url}/proxy/openai/chat/completions`, {
      method: "POST",
      headers: { ...h.t.bearer((await h.key(userId)).key), "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
    });
    const text = await pinned.text();
    expect(pinned.status).toBe(502);
    expect(JSON.parse(text)).toMatchObject({ code: "UPSTREAM.FAILED", error: { code: "UPSTREAM.FAILED" } });
    expect(text).not.toContain(UPSTREAM_KEYS.openai);
    expect(text).not.toContain("down");
    expect(types(await h.events(userId)).slice(3)).toEqual(["usage_reserved", "usage_released"]);
    expect((await h.events(userId)).at(-1)!.data).toMatchObject({ reason: "failed" });
    expect(await h.ledger(userId)).toEqual({ balance: 10_000_000 - 45, held: 0 });
  });

  it("an upstream 400 reaches the client as a 400 with a redacted message, uncharged", async () => {
    h.fixture.script(() => ({
      status: 400,
      errorBody: { error: { message: `bad max_tokens; key ${UPSTREAM_KEYS.openai} sk-proj-abcdef123456` } },
    }));
    const { userId, client } = await user();
    const error = await client.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).status).toBe(400);
    expect((error as APIError).message).toContain("bad max_tokens");
    expect((error as APIError).message).not.toContain(UPSTREAM_KEYS.openai);
    expect((error as APIError).message).not.toContain("sk-proj-abcdef123456");
    expect(types(await h.events(userId))).toEqual(["usage_reserved", "usage_released"]);
    expect(await h.ledger(userId)).toEqual({ balance: 10_000_000, held: 0 });
  });

  describe("streams without a usage chunk (README policy)", () => {
    const llama = { model: "llama-3.1-8b-instruct", messages: [{ role: "user" as const, content: "cut me" }], stream: true as const };
    // "cut me": 6 characters → ceil(6 / 4) + 4 per message + 3 = 9 prompt tokens
    const countedPrompt = 9;

    it("cut midway → charged for the delivered tokens only, no hold left behind", async () => {
      h.fixture.script(() => ({ content: ["tok ", "tok ", "tok ", "tok ", "tok ", "tok "], cutAfterChunks: 4 }));
      const { userId, client } = await user();
      const stream = await client.chat.completions.create(llama);
      let text = "";
      const error = await (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
      })().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(APIError);
      expect((error as APIError).message).toContain("interrupted");
      expect(text).toBe("tok tok tok tok ");
      const [usage] = usages(await h.events(userId));
      expect(usage!.data).toMatchObject({
        provider: "openrouter",
        promptTokens: countedPrompt,
        completionTokens: 4,
        usageSource: "counted",
      });
      expect(usage!.data.cost).toBe(1); // 9 × 0.02 + 4 × 0.05 = 0.38 micro-USD, rounded up to 1
      expect((await h.events(userId)).at(-1)!.data).toMatchObject({ reason: "settled" });
      expect((await h.ledger(userId)).held).toBe(0);
    });

    it("complete but without usage → counted: max(chunks, characters / 4), [DONE] as usual", async () => {
      h.fixture.script(() => ({ content: ["abcdefgh", "ijklmnop", "q"], usage: null }));
      const { userId, client } = await user();
      let text = "";
      for await (const chunk of await client.chat.completions.create(llama)) text += chunk.choices[0]?.delta.content ?? "";
      expect(text).toBe("abcdefghijklmnopq");
      const [usage] = usages(await h.events(userId));
      expect(usage!.data).toMatchObject({ promptTokens: countedPrompt, completionTokens: 5, usageSource: "counted" }); // ceil(17 / 4) = 5 > 3 chunks
    });

    it("cut before any output → no charge, the hold is released as failed", async () => {
      h.fixture.script(() => ({ cutAfterChunks: 0 }));
      const { userId, client } = await user();
      const error = await (async () => {
        for await (const _chunk of await client.chat.completions.create(llama));
      })().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(APIError);
      expect(types(await h.events(userId))).toEqual(["usage_reserved", "usage_released"]);
      expect((await h.events(userId)).at(-1)!.data).toMatchObject({ reason: "failed" });
      expect(await h.ledger(userId)).toEqual({ balance: 10_000_000, held: 0 });
    });

    it("client aborts midway → the upstream request is aborted, the delivered part is charged", async () => {
      h.fixture.script(() => ({ content: Array.from({ length: 200 }, () => "x"), chunkDelayMs: 5 }));
      const { userId, client } = await user();
      const stream = await client.chat.completions.create(llama);
      let received = 0;
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content) received++;
        if (received === 3) stream.controller.abort();
      }
      await vi.waitFor(async () => expect(types(await h.events(userId))).toEqual(["usage_reserved", "ai_usage", "usage_released"]), {
        timeout: 10_000,
      });
      const [usage] = usages(await h.events(userId));
      expect(usage!.data.usageSource).toBe("counted");
      expect(usage!.data.completionTokens).toBeGreaterThanOrEqual(3);
      expect(usage!.data.completionTokens).toBeLessThan(200);
      expect((await h.ledger(userId)).held).toBe(0);
      await vi.waitFor(() => expect(h.fixture.received.at(-1)!.aborted).toBe(true), { timeout: 10_000 });
    });
  });
});

// A plain request's hold waits (plainHoldLingerMs) to share its settlement's append; here it would wait
// 10 minutes, past every test's timeout: a request that waited for it instead of carrying it would fail.
describe("a plain request's lingering hold", () => {
  let h: GatewayHarness;
  beforeAll(async () => {
    h = await startGatewayHarness(undefined, {}, { plainHoldLingerMs: 600_000 });
  });
  afterAll(() => h.close());
  const user = async (userId: string) => {
    await h.fund(userId, "10");
    return h.client((await h.key(userId)).key);
  };

  it("goes in one append with the settlement, or with the release when every provider fails; a stream's hold does not linger", async () => {
    h.fixture.script(() => ({ usage: { prompt_tokens: 10, completion_tokens: 5 } }));
    const client = await user("linger-1");
    await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    const settled = await h.events("linger-1");
    expect(types(settled)).toEqual(["usage_reserved", "ai_usage", "usage_released"]);
    expect(settled.at(-1)!.position - settled.at(-4)!.position).toBe(3); // hold, usage, its transaction, release: adjacent

    h.fixture.script(() => ({ status: 500, errorBody: { error: { message: "down" } } }));
    const failing = await user("linger-2");
    const error = await failing.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }, { maxRetries: 0 })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 502 });
    expect(types(await h.events("linger-2"))).toEqual(["usage_reserved", "usage_released"]);
    expect(await h.ledger("linger-2")).toEqual({ balance: 10_000_000, held: 0 });

    h.fixture.script(() => ({ content: ["a", "b"], usage: { prompt_tokens: 4, completion_tokens: 2 } }));
    const streaming = await user("linger-3");
    let text = "";
    const stream = await streaming.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
    });
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe("ab");
    expect(types(await h.events("linger-3"))).toEqual(["usage_reserved", "ai_usage", "usage_released"]);
  });
});
