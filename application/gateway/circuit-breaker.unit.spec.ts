import { describe, expect, it } from "vitest";
import { CircuitBreaker } from "./circuit-breaker.ts";

describe("CircuitBreaker", () => {
  const setup = () => {
    let now = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1000, now: () => now });
    return { breaker, advance: (ms: number) => (now += ms) };
  };

  it("opens after N failures in a row; a success in between resets the count", () => {
    const { breaker } = setup();
    breaker.failure();
    breaker.failure();
    breaker.success();
    breaker.failure();
    breaker.failure();
    expect(breaker.state).toBe("closed");
    breaker.failure();
    expect(breaker.state).toBe("open");
    expect(breaker.available()).toBe(false);
    expect(breaker.tryAcquire()).toBe(false);
    expect(breaker.retryAfterMs()).toBe(1000);
  });

  it("half-open after the cooldown lets exactly one probe through; its outcome closes or reopens", () => {
    const { breaker, advance } = setup();
    for (let i = 0; i < 3; i++) breaker.failure();
    advance(1000);
    expect(breaker.state).toBe("half_open");
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false); // one probe at a time
    expect(breaker.available()).toBe(false);
    breaker.failure();
    expect(breaker.state).toBe("open"); // a failed probe reopens at once
    advance(1000);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.success();
    expect(breaker.snapshot()).toEqual({ state: "closed", consecutiveFailures: 0, retryAfterMs: 0 });
  });

  it("a probe that ends without a verdict frees the slot", () => {
    const { breaker, advance } = setup();
    for (let i = 0; i < 3; i++) breaker.failure();
    advance(1000);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.release();
    expect(breaker.tryAcquire()).toBe(true);
  });

  it("counts the outcomes of the last 5 minutes for the operator's error rate; a release counts nothing", () => {
    const { breaker, advance } = setup();
    breaker.success();
    breaker.failure();
    breaker.release();
    expect(breaker.recent()).toEqual({ windowSeconds: 300, requests: 2, failures: 1 });
    advance(200_000);
    breaker.success();
    expect(breaker.recent()).toEqual({ windowSeconds: 300, requests: 3, failures: 1 });
    advance(110_000); // the first two are now older than 5 minutes
    expect(breaker.recent()).toEqual({ windowSeconds: 300, requests: 1, failures: 0 });
    advance(300_000);
    expect(breaker.recent()).toEqual({ windowSeconds: 300, requests: 0, failures: 0 });
  });
});
