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

export class CircuitBreaker {
  private failures = 0;
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
    this.failures = 0;
    this.openedAt = null;
    this.probing = false;
  }

  failure() {
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

  snapshot() {
    return { state: this.state, consecutiveFailures: this.failures, retryAfterMs: this.retryAfterMs() };
  }
}
