import { describe, expect, it } from "vitest";
import { pricesAt, type Catalog } from "./catalog.ts";

// Effective-dated prices: a period applies from its `from` instant on (inclusive) until the next one.
const period = (from: string, promptPerMillion: number, completionPerMillion: number) => ({ from, promptPerMillion, completionPerMillion });
const catalog: Catalog = {
  version: "v7",
  models: [
    {
      id: "m",
      provider: "a",
      upstreamId: "a/m",
      contextLength: 10,
      maxOutputTokens: 10,
      prices: [period("2025-01-01T00:00:00Z", 5, 15), period("2025-06-01T00:00:00Z", 2, 8)],
    },
    { id: "m", provider: "b", upstreamId: "b/m", contextLength: 10, maxOutputTokens: 10, prices: [period("2025-03-01T00:00:00Z", 3, 9)] },
  ],
};

describe("pricesAt", () => {
  it("picks the period in effect, its start inclusive, with the catalog version", () => {
    expect(pricesAt(catalog, "m", "2025-05-31T23:59:59.999Z")).toEqual({
      promptPerMillion: 5,
      completionPerMillion: 15,
      catalogVersion: "v7",
    });
    expect(pricesAt(catalog, "m", "2025-06-01T00:00:00Z")).toEqual({ promptPerMillion: 2, completionPerMillion: 8, catalogVersion: "v7" });
    expect(pricesAt(catalog, "m", "2025-01-01T00:00:00Z")).toMatchObject({ promptPerMillion: 5 });
  });
  it("without a provider the first offer; with one, that provider's", () => {
    expect(pricesAt(catalog, "m", "2025-04-01T00:00:00Z", "b")).toMatchObject({ promptPerMillion: 3, completionPerMillion: 9 });
    expect(pricesAt(catalog, "m", "2025-04-01T00:00:00Z", "a")).toMatchObject({ promptPerMillion: 5 });
  });
  it("is null before the first price, for an unknown model or provider", () => {
    expect(pricesAt(catalog, "m", "2024-12-31T23:59:59Z")).toBeNull();
    expect(pricesAt(catalog, "m", "2025-02-01T00:00:00Z", "b")).toBeNull();
    expect(pricesAt(catalog, "x", "2025-04-01T00:00:00Z")).toBeNull();
    expect(pricesAt(catalog, "m", "2025-04-01T00:00:00Z", "c")).toBeNull();
    expect(pricesAt(catalog, "a/m", "2025-04-01T00:00:00Z")).toBeNull(); // upstream ids are not model ids
  });
});
