import { describe, expect, it } from "vitest";
import { createMemoryReadStore } from "../../infra/memory/read-store.ts";
import type { VersionDoc } from "../cluster/versioned.ts";
import { KeyLimiter, RATE_WINDOWS, type Admission, type RateWindow } from "./limits.ts";

// the clock starts on a whole second: the window counts whole seconds (README "Limits")
const clock = (start = 1_000_000) => {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
};
const ticket = (a: Admission) => {
  if (!a.ok) throw new Error(`expected an admission, got ${a.code}`);
  return a.ticket;
};

describe("KeyLimiter", () => {
  it("requestsPerMinute: never more than the limit in 60 s; Retry-After until the oldest second leaves the window", async () => {
    const c = clock();
    const limiter = new KeyLimiter(createMemoryReadStore(), c.now);
    const admit = () => limiter.admit("k", { requestsPerMinute: 3 }, 0);
    for (let i = 0; i < 3; i++) {
      expect((await admit()).ok).toBe(true);
      c.advance(10_000);
    }
    expect(await admit()).toMatchObject({ ok: false, code: "RATE_LIMIT.REQUESTS", retryAfterSeconds: 31 });
    c.advance(30_999);
    expect((await admit()).ok).toBe(false); // the first one is 60.999 s old: its second still counts
    c.advance(1);
    expect((await admit()).ok).toBe(true);
    expect((await admit()).ok).toBe(false);
  });

  it("a key's window holds the last minute's seconds only, whatever the limit: a busy key with a huge limit stays small", async () => {
    const c = clock();
    const store = createMemoryReadStore();
    const limiter = new KeyLimiter(store, c.now);
    for (let i = 0; i < 300; i++) {
      ticket(await limiter.admit("k", { requestsPerMinute: 1_000_000, tokensPerMinute: 1_000_000_000 }, 10)).finish(10);
      c.advance(1000);
    }
    const [latest] = await store.collection<VersionDoc<RateWindow>>(RATE_WINDOWS).find({ chain: "k" }, { sort: { v: -1 }, limit: 1 });
    expect(latest!.state.secs.length).toBeLessThanOrEqual(61);
  });

  it("tokensPerMinute: holds the estimate, trues up to billed tokens, frees failed requests", async () => {
    const c = clock();
    const limiter = new KeyLimiter(createMemoryReadStore(), c.now);
    const limits = { tokensPerMinute: 1000 };
    const a = ticket(await limiter.admit("k", limits, 600));
    expect(await limiter.admit("k", limits, 500)).toMatchObject({ ok: false, code: "RATE_LIMIT.TOKENS", retryAfterSeconds: 1 }); // a hold blocks
    a.finish(200); // billed far less than held
    const b = ticket(await limiter.admit("k", limits, 500));
    b.finish(0); // failed: gives its hold back, adds nothing
    expect((await limiter.admit("k", limits, 800)).ok).toBe(true);
  });

  it("a request larger than the whole limit still runs alone; Retry-After counts to when the window frees", async () => {
    const c = clock();
    const limiter = new KeyLimiter(createMemoryReadStore(), c.now);
    const limits = { tokensPerMinute: 100 };
    ticket(await limiter.admit("k", limits, 5000)).finish(100);
    c.advance(15_000);
    expect(await limiter.admit("k", limits, 10)).toMatchObject({ ok: false, retryAfterSeconds: 46 });
    c.advance(46_000);
    expect((await limiter.admit("k", limits, 10)).ok).toBe(true);
  });

  it("two instances on one store admit exactly the limit between them, however their requests interleave", async () => {
    const c = clock();
    const store = createMemoryReadStore();
    const instances = [new KeyLimiter(store, c.now), new KeyLimiter(store, c.now), new KeyLimiter(store, c.now)];
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => instances[i % 3]!.admit("k", { requestsPerMinute: 7 }, 0)));
    expect(answers.filter((a) => a.ok)).toHaveLength(7);
    expect(answers.filter((a) => !a.ok).every((a) => !a.ok && a.code === "RATE_LIMIT.REQUESTS")).toBe(true);
  });

  it("keys are independent; in-flight counts; keys without limits touch no store; prune forgets idle keys", async () => {
    const c = clock();
    const store = createMemoryReadStore();
    const limiter = new KeyLimiter(store, c.now);
    const free = ticket(await limiter.admit("free", {}, 10_000));
    expect(await store.listCollections()).toEqual([]);
    const a = ticket(await limiter.admit("a", { requestsPerMinute: 1 }, 0));
    expect((await limiter.admit("b", { requestsPerMinute: 1 }, 0)).ok).toBe(true);
    expect([limiter.inFlight("a"), limiter.inFlight("free")]).toEqual([1, 1]);
    a.finish(0);
    a.finish(0); // finishing twice changes nothing
    free.finish(5);
    expect([limiter.inFlight("a"), limiter.inFlight("free")]).toEqual([0, 0]);
    c.advance(61_000);
    limiter.prune();
    expect((await limiter.admit("a", { requestsPerMinute: 1 }, 0)).ok).toBe(true);
    expect(await store.collection(RATE_WINDOWS).count({ chain: "a" })).toBe(2);
  });
});
