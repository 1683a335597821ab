import { APIError } from "openai";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { AiUsage, NewEvent, RecordedEvent } from "../../domain/events.ts";
import { DEFAULT_GATEWAY_OPTIONS } from "../../application/gateway/gateway.ts";
import { startGatewayHarness, type GatewayHarness } from "../../test/harness/gateway-harness.ts";
import type { FixtureReply } from "../../test/fixtures/upstream-fixture.ts";

// README "Billing streamed requests", case by case, against the upstream fixture: error events and
// stalls mid-stream, a provider that never answers, the cap at the hold, and [DONE] only once the
// charge is durable. Every expected cost is worked out by hand from infra/catalog/models.json:
//   gpt-4o (openai and openrouter, current): 2.50 USD prompt, 10 USD completion per million tokens,
//   i.e. 2.5 and 10 micro-USD per token.
// The gateway's own upstream timeouts are shortened so that a stalled provider ends in this test.

const FOUR_O = { model: "gpt-4o", messages: [{ role: "user" as const, content: "cut me" }], stream: true as const };
// "cut me": 6 characters → ceil(6 / 4) = 2 + 4 per message + 3 priming = 9 counted prompt tokens
// 4 delivered chunks of "tok " (16 characters): completion = max(4 chunks, ceil(16 / 4) = 4) = 4
// counted cost: 9 × 2.5 + 4 × 10 = 22.5 + 40 = 62.5 micro-USD → rounded up: 63
const COUNTED_COST = 63;
const SIX = ["tok ", "tok ", "tok ", "tok ", "tok ", "tok "];
const FUNDS = 10_000_000;

const usages = (events: RecordedEvent[]) => events.filter((e): e is RecordedEvent<AiUsage> => e.type === "ai_usage");
const kinds = (events: RecordedEvent[]) =>
  events.map((e) => e.type).filter((t) => t !== "payment_processed" && t !== "transaction_created");

describe("gateway: broken streams, timeouts and the hold cap", () => {
  let h: GatewayHarness;
  let n = 0;
  const user = async () => {
    const userId = `s${++n}`;
    await h.fund(userId, "10");
    const { key } = await h.key(userId);
    return { userId, key, client: h.client(key) };
  };
  /** reads a stream with the SDK; returns the text delivered and the error that ended it */
  const consume = async (client: ReturnType<GatewayHarness["client"]>, body: object = FOUR_O) => {
    let text = "";
    const error = await (async () => {
      for await (const chunk of await client.chat.completions.create(body as typeof FOUR_O)) text += chunk.choices[0]?.delta.content ?? "";
    })().catch((e: unknown) => e);
    return { text, error };
  };
  beforeAll(async () => {
    h = await startGatewayHarness(
      undefined,
      {},
      {
        timeouts: { ...DEFAULT_GATEWAY_OPTIONS.timeouts, firstByteMs: 2_000, idleMs: 1_000 },
        breaker: { failureThreshold: 1000, cooldownMs: 30_000 }, // the failures below must not open a circuit
      },
    );
  });
  afterAll(() => h.close());

  const midway: [string, FixtureReply][] = [
    ["an error object on a data line", { content: SIX, errorAfterChunks: 4 }],
    ["an SSE `event: error`", { content: SIX, errorAfterChunks: 4, errorAsSseEvent: true }],
    ["a stall (the gateway's idle timeout ends it)", { content: SIX, stallAfterChunks: 4 }],
  ];

  it.each(midway)("broken midway by %s → counted tokens charged, upstream aborted, ends with STREAM_INTERRUPTED", async (_, reply) => {
    h.fixture.script(() => reply);
    const { userId, client } = await user();
    const { text, error } = await consume(client);
    expect(text).toBe("tok tok tok tok ");
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).message).toContain("interrupted");
    expect((error as APIError).message).not.toContain("overloaded"); // the upstream error body is not passed on
    const events = await h.events(userId);
    expect(kinds(events)).toEqual(["usage_reserved", "ai_usage", "usage_released"]);
    expect(usages(events)[0]!.data).toMatchObject({
      provider: "openai",
      promptTokens: 9,
      completionTokens: 4,
      cost: COUNTED_COST,
      usageSource: "counted",
    });
    expect(events.at(-1)!.data).toMatchObject({ reason: "settled" });
    expect(await h.ledger(userId)).toEqual({ balance: FUNDS - COUNTED_COST, held: 0 });
    // the fixture holds the connection open after the error or stall: only the gateway can end it
    await vi.waitFor(() => expect(h.fixture.received.at(-1)!.aborted).toBe(true), { timeout: 10_000 });
  });

  const beforeOutput: [string, FixtureReply][] = [
    ["an error object", { content: SIX, errorAfterChunks: 0 }],
    ["a stall", { content: SIX, stallAfterChunks: 0 }],
  ];

  it.each(beforeOutput)("broken by %s before any output → no charge, the hold released as failed", async (_, reply) => {
    h.fixture.script(() => reply);
    const { userId, client } = await user();
    const { text, error } = await consume(client);
    expect(text).toBe("");
    expect((error as APIError).message).toContain("interrupted");
    const events = await h.events(userId);
    expect(kinds(events)).toEqual(["usage_reserved", "usage_released"]);
    expect(events.at(-1)!.data).toMatchObject({ reason: "failed" });
    expect(await h.ledger(userId)).toEqual({ balance: FUNDS, held: 0 });
    await vi.waitFor(() => expect(h.fixture.received.at(-1)!.aborted).toBe(true), { timeout: 10_000 });
  });

  it("a provider that never answers: each candidate times out, 502, no charge", async () => {
    h.fixture.script(() => ({ hang: true }));
    const { userId, client } = await user();
    const before = h.fixture.received.length;
    const error = (await consume(client)).error as APIError;
    expect(error.status).toBe(502);
    expect(error.error).toMatchObject({ code: "UPSTREAM.FAILED" });
    expect(h.fixture.received.slice(before).map((r) => r.provider)).toEqual(["openai", "openrouter"]);
    expect(kinds(await h.events(userId))).toEqual(["usage_reserved", "usage_released"]);
    expect(await h.ledger(userId)).toEqual({ balance: FUNDS, held: 0 });
  });

  // "cap me", max_tokens 10: hold prompt bound = 6 bytes + 4 per message + 3 = 13 tokens;
  // hold = 13 × 2.5 + 10 × 10 = 32.5 + 100 = 132.5 → 133 micro-USD.
  // The provider reports 1000 + 5000 tokens: 1000 × 2.5 + 5000 × 10 = 52 500 micro-USD, capped at 133.
  const CAP_ASK = { model: "gpt-4o", messages: [{ role: "user" as const, content: "cap me" }], max_tokens: 10 };
  const HOLD = 133;

  it.each([false, true])("a charge is capped at its hold (stream: %s)", async (stream) => {
    h.fixture.script(() => ({ usage: { prompt_tokens: 1000, completion_tokens: 5000 } }));
    const { userId, key, client } = await user();
    const quoted = await h.t.app.inject({ method: "POST", url: "/proxy/validate-request", headers: h.t.bearer(key), payload: CAP_ASK });
    expect(quoted.json().funds.required).toBe("0.000133");
    if (stream) expect((await consume(client, { ...CAP_ASK, stream: true })).error).toBeUndefined();
    else {
      const { response } = await client.chat.completions.create(CAP_ASK).withResponse();
      expect(response.headers.get("x-aggregator-cost")).toBe("0.000133");
    }
    const events = await h.events(userId);
    const [usage] = usages(events);
    expect(usage!.data).toMatchObject({ promptTokens: 1000, completionTokens: 5000, cost: HOLD, usageSource: "provider" });
    // README: holds expire after 11 minutes (the longest a request may run, 10 min, plus 1 min)
    const reserved = events.find((e) => e.type === "usage_reserved")!;
    expect(Date.parse((reserved.data as { expiresAt: string }).expiresAt) - Date.parse(reserved.metadata.occurredAt)).toBe(11 * 60_000);
    expect(await h.ledger(userId)).toEqual({ balance: FUNDS - HOLD, held: 0 });
  });

  it("[DONE] reaches the client only once the charge is durable", async () => {
    let openDone!: () => void;
    const doneGate = new Promise<void>((resolve) => (openDone = resolve));
    // 10 × 2.5 + 2 × 10 = 25 + 20 = 45 micro-USD
    h.fixture.script(() => ({ content: ["a", "b"], usage: { prompt_tokens: 10, completion_tokens: 2 }, doneGate }));
    const { userId, key } = await user();
    // the settlement's append is slowed down: a gateway that sent [DONE] before it would be caught
    const store = h.t.platform.events;
    const append = store.append.bind(store);
    const spy = vi.spyOn(store, "append").mockImplementation(async (stream: string, events: NewEvent[], expected, lastEventId) => {
      if (events.some((e) => e.type === "ai_usage")) await sleep(200);
      return append(stream, events, expected, lastEventId);
    });
    try {
      const response = await fetch(`${h.url}/v1/chat/completions`, {
        method: "POST",
        headers: { ...h.t.bearer(key), "content-type": "application/json" },
        body: JSON.stringify({ ...FOUR_O, messages: [{ role: "user", content: "hi" }] }),
      });
      let text = "";
      let chargedAtDone: number[] | undefined;
      const reading = (async () => {
        const decoder = new TextDecoder();
        for await (const part of response.body!) {
          text += decoder.decode(part, { stream: true });
          if (text.includes("data: [DONE]") && !chargedAtDone) chargedAtDone = usages(await h.events(userId)).map((e) => e.data.cost);
        }
      })();
      await vi.waitFor(() => expect(text).toContain('"content":"b"'), { timeout: 10_000 });
      expect(text).not.toContain("[DONE]"); // the provider has not finished: nothing is settled yet
      expect(usages(await h.events(userId))).toEqual([]);
      openDone();
      await reading;
      expect(chargedAtDone).toEqual([45]);
      expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });
});
