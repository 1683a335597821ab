import type { Catalog } from "../../domain/catalog.ts";

// Label values from bounded sets only. A provider/model pair the catalog does not know (usage tracked
// by an operator for any model name) is "other", so a client cannot grow the series without end.

export type ModelLabels = (provider: string, model: string) => { provider: string; model: string };

export function catalogLabels(catalog: Catalog): ModelLabels {
  const known = new Set(catalog.models.map((m) => `${m.provider}\n${m.id}`));
  const providers = new Set(catalog.models.map((m) => m.provider));
  return (provider, model) =>
    known.has(`${provider}\n${model}`) ? { provider, model } : { provider: providers.has(provider) ? provider : "other", model: "other" };
}

/** the kind of a stream from its name (`account-…`, `apikey-…`, `analytics-…`) */
export const streamKind = (stream: string) => {
  const kind = stream.slice(0, stream.indexOf("-"));
  return kind === "account" || kind === "apikey" || kind === "analytics" ? kind : "other";
};

/** "2xx", "4xx"… */
export const statusClass = (status: number) => `${Math.floor(status / 100)}xx`;
