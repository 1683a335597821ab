import { describe, expect, it } from "vitest";
import type { Catalog } from "../../domain/catalog.ts";
import { CircuitBreaker } from "./circuit-breaker.ts";
import { LatencyStats, planRoute, type RouterDeps } from "./router.ts";

const model = (provider: string, prompt: number, completion: number, priority?: number) => ({
  id: "m",
  provider,
  upstreamId: `${provider}/m`,
  contextLength: 1000,
  maxOutputTokens: 100,
  ...(priority === undefined ? {} : { priority }),
  prices: [{ from: "2025-01-01T00:00:00Z", promptPerMillion: prompt, completionPerMillion: completion }],
});

const catalog: Catalog = {
  version: "test",
  models: [
    model("a", 3, 3, 1),
    model("b", 1, 1, 2),
    model("c", 2, 2, 3),
    {
      ...model("a", 9, 9),
      id: "dated",
      prices: [
        { from: "2025-01-01T00:00:00Z", promptPerMillion: 5, completionPerMillion: 15 },
        { from: "2025-06-01T00:00:00Z", promptPerMillion: 2, completionPerMillion: 8 },
      ],
    },
  ],
};

function deps(overrides: Partial<RouterDeps> = {}): RouterDeps {
  const breakers = new Map<string, CircuitBreaker>();
  return {
    catalog,
    isConfigured: () => true,
    breaker: (p) => breakers.get(p) ?? breakers.set(p, new CircuitBreaker({ failureThreshold: 1, cooldownMs: 60_000 })).get(p)!,
    latency: new LatencyStats(),
    ...overrides,
  };
}
const AT = "2025-03-01T00:00:00Z";
const order = (d: RouterDeps, strategy: "priority" | "cheapest" | "fastest") =>
  planRoute(d, { model: "m", strategy, at: AT })!.candidates.map((c) => c.provider);

describe("planRoute", () => {
  it("orders by priority, by price or by measured latency (unmeasured last)", () => {
    const d = deps();
    expect(order(d, "priority")).toEqual(["a", "b", "c"]);
    expect(order(d, "cheapest")).toEqual(["b", "c", "a"]);
    expect(order(d, "fastest")).toEqual(["a", "b", "c"]); // nothing measured: priority
    d.latency.record("c", "m", 50);
    d.latency.record("b", "m", 80);
    expect(order(d, "fastest")).toEqual(["c", "b", "a"]);
    d.latency.record("c", "m", 250); // ewma 50 → 90
    expect(order(d, "fastest")).toEqual(["b", "c", "a"]);
  });

  it("cheapest uses the request's own cost estimate when given", () => {
    const plan = planRoute(deps(), { model: "m", strategy: "cheapest", at: AT, estimate: (m) => (m.provider === "a" ? 0 : 10) });
    expect(plan!.candidates[0]!.provider).toBe("a");
  });

  it("skips open circuits and unconfigured providers, saying why", () => {
    const d = deps({ isConfigured: (p) => p !== "c" });
    d.breaker("a").failure();
    const plan = planRoute(d, { model: "m", strategy: "priority", at: AT })!;
    expect(plan.candidates.map((c) => c.provider)).toEqual(["b"]);
    expect(plan.skipped).toEqual([
      { provider: "a", reason: "circuit_open", retryAfterMs: expect.any(Number) },
      { provider: "c", reason: "not_configured" },
    ]);
  });

  it("uses the price in effect at the request's instant; a pinned provider matches its upstream id", () => {
    const d = deps();
    const before = planRoute(d, { model: "dated", strategy: "priority", at: "2025-05-31T23:59:59Z" })!;
    const after = planRoute(d, { model: "dated", strategy: "priority", at: "2025-06-01T00:00:00Z" })!;
    expect(before.candidates[0]!.prices).toEqual({ promptPerMillion: 5, completionPerMillion: 15, catalogVersion: "test" });
    expect(after.candidates[0]!.prices).toEqual({ promptPerMillion: 2, completionPerMillion: 8, catalogVersion: "test" });
    expect(planRoute(d, { model: "b/m", provider: "b", strategy: "priority", at: AT })!.candidates.map((c) => c.provider)).toEqual(["b"]);
    expect(planRoute(d, { model: "b/m", strategy: "priority", at: AT })).toBeNull();
    expect(planRoute(d, { model: "m", strategy: "priority", at: "2024-01-01T00:00:00Z" })!.skipped.map((s) => s.reason)).toEqual([
      "unpriced",
      "unpriced",
      "unpriced",
    ]);
  });
});
