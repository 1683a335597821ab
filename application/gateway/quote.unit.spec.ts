import { describe, expect, it } from "vitest";
import type { Catalog } from "../../domain/catalog.ts";
import type { ChatRequest } from "./chat-request.ts";
import { CircuitBreaker } from "./circuit-breaker.ts";
import type { Gateway } from "./gateway.ts";
import { quoteChat } from "./quote.ts";
import { LatencyStats, planRoute, type RouterDeps } from "./router.ts";

// README "Holds before the call": the hold is the most the request can cost on the PRICIEST candidate,
// so a fallback never runs on a hold too small for it. Two providers with different prices; every
// expected amount is worked out by hand (prices in micro-USD per million tokens = micro-USD per token × 1e6).

const offer = (provider: string, priority: number, promptPerMillion: number, completionPerMillion: number, maxOutputTokens: number) => ({
  id: "m",
  provider,
  upstreamId: `${provider}/m`,
  contextLength: 1000,
  maxOutputTokens,
  priority,
  prices: [{ from: "2025-01-01T00:00:00Z", promptPerMillion, completionPerMillion }],
});
// a: 1 micro-USD per prompt token, 2 per completion token, first by priority and cheapest;
// b: 3 and 8, the fallback, and it may write up to 200 tokens
const catalog: Catalog = { version: "test", models: [offer("a", 1, 1_000_000, 2_000_000, 100), offer("b", 2, 3_000_000, 8_000_000, 200)] };

function gateway(): Gateway {
  const breakers = new Map<string, CircuitBreaker>();
  const deps: RouterDeps = {
    catalog,
    isConfigured: () => true,
    breaker: (p) => breakers.get(p) ?? breakers.set(p, new CircuitBreaker({ failureThreshold: 1, cooldownMs: 60_000 })).get(p)!,
    latency: new LatencyStats(),
  };
  return { platform: { catalog }, plan: (q: Parameters<typeof planRoute>[1]) => planRoute(deps, q) } as unknown as Gateway;
}

// "hello": 5 bytes → hold prompt bound = 5 + 4 per message + 3 priming = 12 tokens
const ask = (extra: Partial<ChatRequest> = {}): ChatRequest => ({ model: "m", messages: [{ role: "user", content: "hello" }], ...extra });
const quote = (request: ChatRequest, strategy: "priority" | "cheapest" = "priority") =>
  quoteChat(gateway(), request, { strategy, at: "2025-06-01T00:00:00Z" });

describe("quoteChat: the hold covers the priciest candidate", () => {
  it.each(["priority", "cheapest"] as const)("max_tokens 50, strategy %s: routed to a, held for b", (strategy) => {
    const q = quote(ask({ max_tokens: 50 }), strategy);
    expect(q.plan.candidates.map((c) => c.provider)).toEqual(["a", "b"]);
    // a: 12 × 1 + 50 × 2 = 112; b: 12 × 3 + 50 × 8 = 36 + 400 = 436
    expect(q.holdAmount).toBe(436);
  });

  it("without max_tokens each candidate's own output limit counts", () => {
    // a: 12 × 1 + 100 × 2 = 212; b: 12 × 3 + 200 × 8 = 36 + 1600 = 1636
    expect(quote(ask()).holdAmount).toBe(1636);
  });

  it("n choices multiply the completion bound", () => {
    // b: 12 × 3 + 2 × 50 × 8 = 36 + 800 = 836
    expect(quote(ask({ max_tokens: 50, n: 2 })).holdAmount).toBe(836);
  });

  it("a max_tokens only the fallback can write drops the other candidate; the hold is the fallback's", () => {
    const q = quote(ask({ max_tokens: 150 }));
    expect(q.plan.candidates.map((c) => c.provider)).toEqual(["b"]);
    expect(q.holdAmount).toBe(1236); // 12 × 3 + 150 × 8 = 36 + 1200
  });
});
