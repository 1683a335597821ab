import type { ChatProvider, UpstreamTimeouts } from "./provider.ts";
import type { Platform } from "../platform.ts";
import { CircuitBreaker, type BreakerOptions } from "./circuit-breaker.ts";
import { leased } from "../cluster/lease.ts";
import { startHoldSweeper } from "./hold-sweeper.ts";
import { KeyLimiter } from "./limits.ts";
import { LatencyStats, planRoute, type RouteQuery, type RouterDeps } from "./router.ts";
import type { UpstreamAnomaly } from "./upstream-answer.ts";

// The gateway's long-lived parts, one set per API instance: provider pools, circuit breakers,
// latency stats, per-key rate windows and the expired-hold sweeper. The request flow is in chat.ts.

export interface GatewayOptions {
  timeouts: UpstreamTimeouts;
  /** a hold expires this long after the longest a request may run (timeouts.totalMs) */
  holdMarginMs: number;
  /**
   * A plain answer reaches the client only with its settlement, so its hold's append may wait this long
   * for the settlement (or the release) to share it: one commit, one fsync, when the provider answers
   * sooner; else the hold is appended alone, off the request's path. A stream's hold is appended at once:
   * its first chunk waits for it.
   */
  plainHoldLingerMs: number;
  breaker: BreakerOptions;
  sweepIntervalMs: number;
  /** largest non-streamed upstream answer accepted */
  maxAnswerBytes: number;
  onError?: (error: unknown, what: string) => void;
  /** upstream misbehaviour (never with upstream content: it may carry secrets or personal data) */
  onWarn?: (message: string, fields: Record<string, unknown>) => void;
  /** counts a provider 200 refused or trimmed (the metric aggregator_upstream_anomalies_total) */
  onAnomaly?: (provider: string, kind: UpstreamAnomaly) => void;
}

export const DEFAULT_GATEWAY_OPTIONS: GatewayOptions = {
  timeouts: { connectMs: 5_000, firstByteMs: 300_000, idleMs: 120_000, totalMs: 600_000 },
  holdMarginMs: 60_000,
  plainHoldLingerMs: 25,
  breaker: { failureThreshold: 5, cooldownMs: 30_000 },
  sweepIntervalMs: 30_000,
  maxAnswerBytes: 32 * 1024 * 1024,
};

/** `providers`: the upstream adapters by provider id, bound by the composition root */
export function createGateway(platform: Platform, providers: Map<string, ChatProvider>, overrides: Partial<GatewayOptions> = {}) {
  const options: GatewayOptions = { ...DEFAULT_GATEWAY_OPTIONS, ...overrides };
  const breakers = new Map<string, CircuitBreaker>();
  const breaker = (provider: string) => {
    let b = breakers.get(provider);
    if (!b) breakers.set(provider, (b = new CircuitBreaker(options.breaker)));
    return b;
  };
  const latency = new LatencyStats();
  const onError =
    options.onError ??
    ((error: unknown, what: string) => console.error(`gateway ${what}:`, error instanceof Error ? error.message : error));
  const onWarn = options.onWarn ?? ((message: string, fields: Record<string, unknown>) => console.warn(`gateway ${message}`, fields));
  const limiter = new KeyLimiter(platform.reads, Date.now, (error) => onError(error, "rate window"));
  /** `text` with every configured provider credential replaced by "[redacted]" */
  const redact = (text: string) => [...providers.values()].reduce((t, p) => p.redact(t), text);
  const sweeper = startHoldSweeper(platform, {
    intervalMs: options.sweepIntervalMs,
    lease: leased(platform.reads, { name: "hold-sweeper", onError: (error) => onError(error, "hold sweeper lease") }),
    onError: (error) => onError(error, "hold sweep"),
  });
  const pruner = setInterval(() => limiter.prune(), 60_000);
  pruner.unref();
  const routerDeps: RouterDeps = {
    catalog: platform.catalog,
    isConfigured: (provider) => providers.get(provider)?.configured ?? false,
    breaker,
    latency,
  };

  return {
    platform,
    options,
    providers,
    breaker,
    latency,
    limiter,
    sweeper,
    onError,
    redact,
    /** runs twice on every streamed event: a loop, not redact's array of providers */
    leaks(text: string) {
      for (const provider of providers.values()) if (provider.redact(text) !== text) return true;
      return false;
    },
    anomaly(provider: string, kind: UpstreamAnomaly) {
      options.onAnomaly?.(provider, kind);
      onWarn(`upstream ${kind}`, { provider, kind });
    },
    plan: (query: RouteQuery) => planRoute(routerDeps, query),
    async close() {
      clearInterval(pruner);
      await sweeper.stop();
      for (const provider of providers.values()) provider.close();
    },
  };
}

export type Gateway = ReturnType<typeof createGateway>;
