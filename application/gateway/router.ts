import { pricesAt, type Catalog, type CatalogModel } from "../../domain/catalog.ts";
import type { Prices } from "../../domain/events.ts";
import type { CircuitBreaker, CircuitState } from "./circuit-breaker.ts";

// Routing: the catalog entries offering a model, ordered by a strategy, minus the providers that
// cannot take a request now (circuit open, no API key). The first candidate is the route, the rest
// are its fallbacks, tried in order when an attempt fails before anything reached the client.

export const STRATEGIES = ["priority", "cheapest", "fastest"] as const;
export type Strategy = (typeof STRATEGIES)[number];

export interface Candidate {
  provider: string;
  model: CatalogModel;
  prices: Prices;
  /** moving average of time to first byte, null before the first measurement */
  latencyMs: number | null;
  circuit: CircuitState;
}

export interface Skipped {
  provider: string;
  reason: "circuit_open" | "not_configured" | "unpriced";
  retryAfterMs?: number;
}

export interface RoutePlan {
  model: string;
  strategy: Strategy;
  candidates: Candidate[];
  skipped: Skipped[];
}

/** Exponentially weighted time to first byte per provider × model. */
export class LatencyStats {
  private readonly ewma = new Map<string, number>();
  constructor(private readonly alpha = 0.2) {}
  record(provider: string, model: string, ms: number) {
    for (const key of [`${provider}|${model}`, provider]) {
      const previous = this.ewma.get(key);
      this.ewma.set(key, previous === undefined ? ms : previous + this.alpha * (ms - previous));
    }
  }
  get(provider: string, model: string): number | null {
    return this.ewma.get(`${provider}|${model}`) ?? null;
  }
  /** over every model of the provider */
  ofProvider(provider: string): number | null {
    return this.ewma.get(provider) ?? null;
  }
}

export interface RouterDeps {
  catalog: Catalog;
  isConfigured(provider: string): boolean;
  breaker(provider: string): CircuitBreaker;
  latency: LatencyStats;
}

export interface RouteQuery {
  model: string;
  strategy: Strategy;
  /** only this provider (the /proxy/{provider}/ routes); the model may then be its upstream id */
  provider?: string;
  /** price instant */
  at: string;
  /** what the request would cost at these prices (for "cheapest"); default: the sum of both prices */
  estimate?: (model: CatalogModel, prices: Prices) => number;
}

export function offersOf(catalog: Catalog, model: string, provider?: string): CatalogModel[] {
  return catalog.models.filter((m) =>
    provider === undefined ? m.id === model : m.provider === provider && (m.id === model || m.upstreamId === model),
  );
}

/** null when no provider offers the model */
export function planRoute(deps: RouterDeps, query: RouteQuery): RoutePlan | null {
  const offers = offersOf(deps.catalog, query.model, query.provider);
  if (offers.length === 0) return null;
  const skipped: Skipped[] = [];
  const candidates: Candidate[] = [];
  for (const model of offers) {
    const prices = pricesAt(deps.catalog, model.id, query.at, model.provider);
    const breaker = deps.breaker(model.provider);
    if (!prices) skipped.push({ provider: model.provider, reason: "unpriced" });
    else if (!deps.isConfigured(model.provider)) skipped.push({ provider: model.provider, reason: "not_configured" });
    else if (!breaker.available()) skipped.push({ provider: model.provider, reason: "circuit_open", retryAfterMs: breaker.retryAfterMs() });
    else
      candidates.push({
        provider: model.provider,
        model,
        prices,
        latencyMs: deps.latency.get(model.provider, model.id),
        circuit: breaker.state,
      });
  }
  const estimate = query.estimate ?? ((_m: CatalogModel, p: Prices) => p.promptPerMillion + p.completionPerMillion);
  const byPriority = (a: Candidate, b: Candidate) =>
    (a.model.priority ?? 1000) - (b.model.priority ?? 1000) || a.provider.localeCompare(b.provider);
  const order: Record<Strategy, (a: Candidate, b: Candidate) => number> = {
    priority: byPriority,
    cheapest: (a, b) => estimate(a.model, a.prices) - estimate(b.model, b.prices) || byPriority(a, b),
    // measured providers first, fastest first; unmeasured ones keep priority order behind them
    fastest: (a, b) => (a.latencyMs ?? Infinity) - (b.latencyMs ?? Infinity) || byPriority(a, b),
  };
  candidates.sort(order[query.strategy]);
  return { model: offers[0]!.id, strategy: query.strategy, candidates, skipped };
}
