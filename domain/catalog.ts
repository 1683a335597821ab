import type { Prices } from "./events.ts";

// The model catalog: providers and models with prices per million tokens (micro-USD). Prices are
// effective-dated: a change applies from its `from` instant on, and every ai_usage records the prices
// (and catalog version) it was charged with, so history is never re-priced.

export interface PricePeriod {
  /** ISO-8601 instant this price applies from */
  from: string;
  promptPerMillion: number;
  completionPerMillion: number;
}

export interface CatalogModel {
  /** public model id clients send, e.g. "gpt-4o-mini" */
  id: string;
  provider: string;
  /** the id the provider expects upstream */
  upstreamId: string;
  contextLength: number;
  maxOutputTokens: number;
  /** in ascending `from` order */
  prices: PricePeriod[];
  /** routing preference, lower first */
  priority?: number;
}

export interface Catalog {
  version: string;
  models: CatalogModel[];
}

/** Prices of `model` at instant `at`, or null when the model or a price at that time is unknown. */
export function pricesAt(catalog: Catalog, modelId: string, at: string, provider?: string): Prices | null {
  const atMs = Date.parse(at);
  const model = catalog.models.find((m) => m.id === modelId && (provider === undefined || m.provider === provider));
  if (!model) return null;
  let current: PricePeriod | undefined;
  for (const period of model.prices) if (Date.parse(period.from) <= atMs) current = period;
  if (!current) return null;
  return {
    promptPerMillion: current.promptPerMillion,
    completionPerMillion: current.completionPerMillion,
    catalogVersion: catalog.version,
  };
}
