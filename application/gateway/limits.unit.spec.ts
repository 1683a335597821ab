import { describe, expect, it } from "vitest";
import { KeyLimiter } from "./limits.ts";

const clock = (start = 1_000_000) => {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
};

describe("KeyLimiter", () => {
  it("requestsPerMinute: never more than the limit in any 60 s window; Retry-After until the oldest ages out", () => {
    const c = clock();
    const limiter = new KeyLimiter(c.now);
    const admit = () => limiter.admit("k", { requestsPerMinute: 3 }, 0);
    for (let i = 0; i < 3; i++) {
      expect(admit().ok).toBe(true);
      c.advance(10_000);
    }
    const refused = admit();
    expect(refused).toMatchObject({ ok: false, code: "RATE_LIMIT.REQUESTS", retryAfterSeconds: 30 });
    c.advance(29_999);
    expect(admit().ok).toBe(false);
    c.advance(1);
    expect(admit().ok).toBe(true); // the first one is now 60 s old
    expect(admit().ok).toBe(false);
  });

  it("holds the last minute's admissions only, whatever the limit: a busy key with a huge limit stays small", () => {
    const c = clock();
    const limiter = new KeyLimiter(c.now);
    for (let i = 0; i < 300; i++) {
      const admitted = limiter.admit("k", { requestsPerMinute: 1_000_000, tokensPerMinute: 1_000_000_000 }, 10);
      if (!admitted.ok) throw new Error("refused");
      admitted.ticket.finish(10);
      c.advance(1000);
    }
    expect(limiter.held()).toBeLessThanOrEqual(2 * 60); // 60 admissions and 60 token records
    c.advance(60_000);
    limiter.prune();
    expect(limiter.held()).toBe(0);
  });

  it("a key holds at most 600 records of each kind, whatever its traffic (3,000 req/s for a minute)", () => {
    const c = clock();
    const limiter = new KeyLimiter(c.now);
    const limits = { requestsPerMinute: 1_000_000, tokensPerMinute: 1_000_000_000 };
    for (let i = 0; i < 180_000; i++) {
      const admitted = limiter.admit("k", limits, 10);
      if (!admitted.ok) throw new Error("refused");
      admitted.ticket.finish(10);
      if (i % 3 === 2) c.advance(1);
    }
    expect(limiter.held()).toBeLessThanOrEqual(2 * 600);
    expect(limiter.held()).toBeGreaterThanOrEqual(2 * 599); // one record per 100 ms slot, not one per request
  });

  it("admissions merged into one record leave the window with the latest of them: late, never early", () => {
    const c = clock();
    const limiter = new KeyLimiter(c.now);
    const admit = () => limiter.admit("k", { requestsPerMinute: 2 }, 0);
    expect(admit().ok).toBe(true);
    c.advance(50);
    expect(admit().ok).toBe(true); // merged with the first (less than 100 ms apart)
    c.advance(59_950); // the first is 60 s old: an exact window would admit one now
    expect(admit()).toMatchObject({ ok: false, code: "RATE_LIMIT.REQUESTS", retryAfterSeconds: 1 });
    c.advance(50);
    expect(admit().ok).toBe(true);
    expect(admit().ok).toBe(true);
    expect(admit().ok).toBe(false);
  });

  it("tokens merged into one record free the window with the latest of them", () => {
    const c = clock();
    const limiter = new KeyLimiter(c.now);
    const limits = { tokensPerMinute: 100 };
    for (const tokens of [40, 40]) {
      const a = limiter.admit("k", limits, tokens);
      if (!a.ok) throw new Error("refused");
      a.ticket.finish(tokens);
      c.advance(60);
    }
    // 80 spent in one record at t=60; at t=60_000 an exact window would have freed the first 40
    c.advance(60_000 - 120);
    expect(limiter.admit("k", limits, 30)).toMatchObject({ ok: false, code: "RATE_LIMIT.TOKENS", retryAfterSeconds: 1 });
    c.advance(60);
    expect(limiter.admit("k", limits, 100).ok).toBe(true);
  });

  it("tokensPerMinute: reserves the estimate, trues up to billed tokens, frees failed requests", () => {
    const c = clock();
    const limiter = new KeyLimiter(c.now);
    const limits = { tokensPerMinute: 1000 };
    const a = limiter.admit("k", limits, 600);
    expect(a.ok).toBe(true);
    expect(limiter.admit("k", limits, 500)).toMatchObject({ ok: false, code: "RATE_LIMIT.TOKENS", retryAfterSeconds: 1 }); // in flight blocks
    if (!a.ok) throw new Error("unreachable");
    a.ticket.finish(200); // billed far less than reserved
    const b = limiter.admit("k", limits, 500);
    expect(b.ok).toBe(true);
    if (!b.ok) throw new Error("unreachable");
    b.ticket.finish(0); // failed: gives its reservation back, adds nothing
    expect(limiter.admit("k", limits, 800)).toMatchObject({ ok: true });
  });

  it("a request larger than the whole limit still runs alone; Retry-After counts to when the window frees", () => {
    const c = clock();
    const limiter = new KeyLimiter(c.now);
    const limits = { tokensPerMinute: 100 };
    const big = limiter.admit("k", limits, 5000);
    if (!big.ok) throw new Error("a lone request must pass");
    big.ticket.finish(100);
    c.advance(15_000);
    expect(limiter.admit("k", limits, 10)).toMatchObject({ ok: false, retryAfterSeconds: 45 });
    c.advance(45_000);
    expect(limiter.admit("k", limits, 10).ok).toBe(true);
  });

  it("keys are independent; in-flight counts; prune forgets idle keys", () => {
    const c = clock();
    const limiter = new KeyLimiter(c.now);
    const a = limiter.admit("a", { requestsPerMinute: 1 }, 0);
    expect(limiter.admit("b", { requestsPerMinute: 1 }, 0).ok).toBe(true);
    expect(limiter.inFlight("a")).toBe(1);
    if (!a.ok) throw new Error("unreachable");
    a.ticket.finish(0);
    a.ticket.finish(0); // finishing twice changes nothing
    expect(limiter.inFlight("a")).toBe(0);
    c.advance(60_000);
    limiter.prune();
    expect(limiter.admit("a", { requestsPerMinute: 1 }, 0).ok).toBe(true);
  });
});
