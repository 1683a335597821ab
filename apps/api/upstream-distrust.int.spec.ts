import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AiUsage, RecordedEvent } from "../../domain/events.ts";
import { costOf } from "../../domain/money.ts";
import { startGatewayHarness, UPSTREAM_KEYS, type GatewayHarness } from "../../test/harness/gateway-harness.ts";
import type { FixtureReply } from "../../test/fixtures/upstream-fixture.ts";

// A provider's 200 is untrusted input: what is not a chat completion is a 502 that costs nothing,
// junk SSE lines are dropped and counted, no upstream header passes, and the upstream key never
// reaches the client, whatever the provider echoes where.

const MINI = { promptPerMillion: 150_000, completionPerMillion: 600_000 };
const FUNDS = 10_000_000;
const ask = (stream: boolean, extra: object = {}) =>
  JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], stream, ...extra });
const kinds = (events: RecordedEvent[]) =>
  events.map((e) => e.type).filter((t) => t !== "payment_processed" && t !== "transaction_created");
const KEYS = Object.values(UPSTREAM_KEYS);

describe("distrust upstream", () => {
  let h: GatewayHarness;
  let n = 0;
  beforeAll(async () => {
    h = await startGatewayHarness();
  });
  afterAll(() => h.close());

  /** one request by a fresh funded user over real HTTP; everything the client received, as text */
  async function call(reply: FixtureReply, stream: boolean, path = "/v1/chat/completions") {
    const userId = `d${++n}`;
    await h.fund(userId, "10");
    const { key } = await h.key(userId);
    h.fixture.script(() => reply);
    const res = await fetch(`${h.url}${path}`, {
      method: "POST",
      headers: { ...h.t.bearer(key), "content-type": "application/json" },
      body: ask(stream),
    });
    const body = await res.text();
    const headers = [...res.headers].map(([k, v]) => `${k}: ${v}`).join("\n");
    return { userId, status: res.status, body, headers, everything: `${headers}\n\n${body}`, events: await h.events(userId) };
  }
  const expectNoKey = (text: string) => {
    for (const key of KEYS) {
      expect(text).not.toContain(key);
      expect(text).not.toContain(key.slice(-16)); // nor its secret tail
    }
  };
  const expectUncharged = async (userId: string, events: RecordedEvent[]) => {
    expect(kinds(events)).toEqual(["usage_reserved", "usage_released"]);
    expect(events.at(-1)!.data).toMatchObject({ reason: "failed" });
    expect(await h.ledger(userId)).toEqual({ balance: FUNDS, held: 0 });
  };
  const usageOf = (events: RecordedEvent[]) => events.find((e): e is RecordedEvent<AiUsage> => e.type === "ai_usage")!.data;
  const anomalies = async (kind: string) => {
    const text = (await h.t.app.inject({ url: "/metrics" })).body;
    return Number(new RegExp(`aggregator_upstream_anomalies_total\\{provider="openai",kind="${kind}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  };

  describe("a 200 that is not a chat completion", () => {
    const PLAIN = {
      object: '{"hello":"world"}',
      array: "[]",
      text: '"just text"',
      html: "<html>upstream proxy error</html>",
      error: '{"error":{"message":"overloaded"}}',
      no_choices: '{"object":"chat.completion","choices":[]}',
      empty: "",
      truncated: '{"choices":[{"message":{"content":"hi"',
      deep: `{"choices":[{"message":{"content":"hi"}}],"x":${"[".repeat(20_000)}${"]".repeat(20_000)}}`,
    };
    it.each(Object.entries(PLAIN))("plain %s: 502 UPSTREAM.INVALID_RESPONSE, balance unchanged, hold released", async (_name, rawBody) => {
      const before = await anomalies("invalid_response");
      for (const path of ["/v1/chat/completions", "/proxy/openai/chat/completions"]) {
        const r = await call({ rawBody }, false, path);
        expect(r.status).toBe(502);
        expect(JSON.parse(r.body)).toMatchObject({
          code: "UPSTREAM.INVALID_RESPONSE",
          status: 502,
          error: { code: "UPSTREAM.INVALID_RESPONSE" },
        });
        expect(r.headers).toContain("content-type: application/problem+json");
        expect(r.body).not.toContain(rawBody || "\u0000");
        await expectUncharged(r.userId, r.events);
      }
      if (rawBody !== "" && !rawBody.startsWith('{"error"')) expect(await anomalies("invalid_response")).toBeGreaterThan(before);
    });

    const STREAMS = {
      not_a_chunk: 'data: {"foo":1}\n\ndata: [DONE]\n\n',
      only_done: "data: [DONE]\n\n",
      only_junk: ": hi\n\ndata: nope\n\ndata: <html>\n\n",
      error_event: 'data: {"error":{"message":"boom"}}\n\n',
      completion_not_chunk: `data: ${JSON.stringify({ object: "chat.completion", choices: [] })}\n\n`,
    };
    it.each(Object.entries(STREAMS))("stream %s before any chunk: 502 problem, nothing charged", async (_name, rawBody) => {
      const r = await call({ rawBody }, true);
      expect(r.status).toBe(502);
      expect(JSON.parse(r.body).code).toBe("UPSTREAM.INVALID_RESPONSE");
      await expectUncharged(r.userId, r.events);
    });

    it("an invalid chunk after output: the stream is cut (README policy) and the delivered part is charged", async () => {
      const r = await call({ content: ["ab", "cd", "ef"], rawEvents: { 2: 'data: {"unexpected":true}\n\n' } }, true);
      expect(r.status).toBe(200);
      expect(r.body).toContain('"content":"cd"');
      expect(r.body).not.toContain("ef");
      expect(r.body).not.toContain("unexpected");
      expect(r.body).toContain("UPSTREAM.STREAM_INTERRUPTED");
      expect(r.body).not.toContain("[DONE]");
      expect(usageOf(r.events)).toMatchObject({ usageSource: "counted", completionTokens: 2 });
      expect((await h.ledger(r.userId)).held).toBe(0);
    });
  });

  it("non-JSON SSE lines are dropped and counted; the stream is otherwise intact and charged exactly", async () => {
    const before = await anomalies("non_json_event");
    const reply = {
      usage: { prompt_tokens: 40, completion_tokens: 30 },
      rawEvents: { 1: "data: this is not json\n\n", 3: "data: {truncated\n\n" },
    };
    const r = await call(reply, true);
    expect(r.status).toBe(200);
    expect(r.body).not.toContain("not json");
    expect(r.body).not.toContain("truncated");
    const text = [...r.body.matchAll(/"content":"([^"]*)"/g)].map((m) => m[1]).join("");
    expect(text).toBe("Hello from fixture");
    expect(r.body.trimEnd().endsWith("data: [DONE]")).toBe(true);
    expect(usageOf(r.events)).toMatchObject({
      usageSource: "provider",
      promptTokens: 40,
      completionTokens: 30,
      cost: costOf(40, 30, MINI),
    });
    expect(await h.ledger(r.userId)).toEqual({ balance: FUNDS - costOf(40, 30, MINI), held: 0 });
    expect(await anomalies("non_json_event")).toBe(before + 2);
  });

  it("invalid usage numbers are treated as missing usage: counted (README policy)", async () => {
    for (const usage of [
      { prompt_tokens: -5, completion_tokens: 3 },
      { prompt_tokens: 1.5, completion_tokens: 3 },
      { prompt_tokens: 10, completion_tokens: 1e12 },
    ]) {
      const r = await call({ usage }, false);
      expect(r.status).toBe(200);
      expect(usageOf(r.events)).toMatchObject({ usageSource: "counted" });
    }
  });

  describe("a provider that reflects our Authorization header", () => {
    it("into response headers: no upstream header reaches the client", async () => {
      const headers = {
        "x-request-id": "upstream-req-1",
        "set-cookie": "session=upstream",
        "openai-organization": "org-up",
        "x-ratelimit-remaining-tokens": "7",
        server: "upstream",
      };
      for (const stream of [false, true]) {
        const r = await call({ reflectAuthorization: ["headers"], headers }, stream);
        expect(r.status).toBe(200);
        expectNoKey(r.everything);
        for (const name of ["x-echo-authorization", "set-cookie", "openai-organization", "x-ratelimit-remaining-tokens", "server"])
          expect(r.headers).not.toContain(`${name}:`);
        expect(r.headers).not.toContain("upstream-req-1");
      }
    });

    it("into a plain answer: refused with 502, nothing charged", async () => {
      const before = await anomalies("credential_echo");
      const r = await call({ reflectAuthorization: ["content"] }, false);
      expect(r.status).toBe(502);
      expect(JSON.parse(r.body).code).toBe("UPSTREAM.INVALID_RESPONSE");
      expectNoKey(r.everything);
      await expectUncharged(r.userId, r.events);
      expect(await anomalies("credential_echo")).toBe(before + 1);
    });

    it("into error bodies: a 4xx message is redacted, a 5xx says nothing", async () => {
      for (const status of [400, 422, 500, 503]) {
        const r = await call({ status, reflectAuthorization: ["error"] }, false, "/proxy/openai/chat/completions");
        expect(r.status).toBe(status < 500 ? status : 502);
        expectNoKey(r.everything);
        if (status < 500) expect(JSON.parse(r.body).detail).toContain("[redacted]");
        await expectUncharged(r.userId, r.events);
      }
    });

    it("into a streamed chunk after output: the chunk is withheld and the stream cut; the delivered part is charged", async () => {
      const r = await call({ reflectAuthorization: ["content"] }, true);
      expect(r.status).toBe(200);
      expectNoKey(r.everything);
      expect(r.body).toContain("UPSTREAM.STREAM_INTERRUPTED");
      expect(usageOf(r.events)).toMatchObject({ usageSource: "counted", completionTokens: 5 }); // "Hello from fixture": max(3 chunks, ceil(18 / 4))
    });

    it("into a streamed chunk before any output, or split across chunks: never whole at the client", async () => {
      const first = await call({ content: [], reflectAuthorization: ["content"] }, true);
      expectNoKey(first.everything);
      await expectUncharged(first.userId, first.events);
      const key = UPSTREAM_KEYS.openai;
      const split = await call({ content: ["Your key: ", key.slice(0, 12), key.slice(12)] }, true);
      expect(split.body).not.toContain(key);
      expect(split.body).not.toContain(key.slice(12));
      expect(split.body).toContain("UPSTREAM.STREAM_INTERRUPTED");
    });

    it("into SSE comments: replaced by our own keep-alive; the stream completes", async () => {
      const r = await call({ reflectAuthorization: ["comment"], usage: { prompt_tokens: 5, completion_tokens: 3 } }, true);
      expect(r.status).toBe(200);
      expectNoKey(r.everything);
      expect(r.body).toContain(": keep-alive");
      expect(r.body.trimEnd().endsWith("data: [DONE]")).toBe(true);
      expect(usageOf(r.events)).toMatchObject({ usageSource: "provider", completionTokens: 3 });
    });
  });
});
