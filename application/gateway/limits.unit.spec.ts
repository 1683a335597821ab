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
