// One circuit breaker per provider. Closed: every request passes. After `failureThreshold` failures
// in a row it opens: the router skips the provider for `cooldownMs`. Then it is half-open: exactly
// one probe request passes; its success closes the circuit, its failure opens it for another cooldown.
// In-process state: each gateway instance learns a provider's health on its own.

export type CircuitState = "closed" | "open" | "half_open";

export interface BreakerOptions {
  failureThreshold: number;
  cooldownMs: number;
  now?: () => number;
}

/** outcomes over the last 5 minutes, in 10-second buckets (the operator's error rate; no effect on the state) */
const BUCKET_MS = 10_000;
const WINDOW_BUCKETS = 30;

export class CircuitBreaker {
  private failures = 0;
  private readonly outcomes = new Map<number, { ok: number; failed: number }>();
  private openedAt: number | null = null;
  private probing = false;
  private readonly now: () => number;

  constructor(private readonly options: BreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  get state(): CircuitState {
    if (this.openedAt === null) return "closed";
    return this.now() - this.openedAt >= this.options.cooldownMs ? "half_open" : "open";
  }

  /** whether a request could pass now (does not take the half-open probe) */
  available(): boolean {
    const state = this.state;
    return state === "closed" || (state === "half_open" && !this.probing);
  }

  /** takes the right to send one request; in half-open only one caller gets it */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === "closed") return true;
    if (state === "open" || this.probing) return false;
    this.probing = true;
    return true;
  }

  success() {
    this.count("ok");
    this.failures = 0;
    this.openedAt = null;
    this.probing = false;
  }

  failure() {
    this.count("failed");
    this.failures++;
    if (this.probing || this.failures >= this.options.failureThreshold) this.openedAt = this.now();
    this.probing = false;
  }

  /** the request ended without telling anything about the provider (the client went away) */
  release() {
    this.probing = false;
  }

  /** ms until the next probe may pass (0 when available) */
  retryAfterMs(): number {
    if (this.openedAt === null) return 0;
    return Math.max(0, this.openedAt + this.options.cooldownMs - this.now());
  }

  /** requests that told something about the provider over the last 5 minutes, and how many failed */
  recent() {
    const oldest = Math.floor(this.now() / BUCKET_MS) - WINDOW_BUCKETS + 1;
    let requests = 0;
    let failures = 0;
    for (const [bucket, n] of this.outcomes) {
      if (bucket < oldest) {
        this.outcomes.delete(bucket);
        continue;
      }
      requests += n.ok + n.failed;
      failures += n.failed;
    }
    return { windowSeconds: (WINDOW_BUCKETS * BUCKET_MS) / 1000, requests, failures };
  }

  private count(outcome: "ok" | "failed") {
    const bucket = Math.floor(this.now() / BUCKET_MS);
    let n = this.outcomes.get(bucket);
    if (!n) {
      if (this.outcomes.size >= WINDOW_BUCKETS) this.recent(); // prunes old buckets
      this.outcomes.set(bucket, (n = { ok: 0, failed: 0 }));
    }
    n[outcome]++;
  }

  snapshot() {
    return { state: this.state, consecutiveFailures: this.failures, retryAfterMs: this.retryAfterMs() };
  }
}
