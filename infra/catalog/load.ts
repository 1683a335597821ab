import { readFileSync } from "node:fs";
import { z } from "zod";
import type { Catalog } from "../../domain/catalog.ts";

const price = z.strictObject({
  from: z.iso.datetime({ offset: true }),
  promptPerMillion: z.number().int().min(0),
  completionPerMillion: z.number().int().min(0),
});
const schema = z.strictObject({
  version: z.string().min(1),
  models: z.array(
    z.strictObject({
      id: z.string().min(1),
      provider: z.string().min(1),
      upstreamId: z.string().min(1),
      contextLength: z.number().int().positive(),
      maxOutputTokens: z.number().int().positive(),
      priority: z.number().int().optional(),
      prices: z.array(price).min(1),
    }),
  ),
});

/** The catalog file (default: the one shipped beside this module), validated. */
export function loadCatalog(file = new URL("./models.json", import.meta.url)): Catalog {
  const catalog = schema.parse(JSON.parse(readFileSync(file, "utf8")));
  for (const m of catalog.models) m.prices.sort((a, b) => Date.parse(a.from) - Date.parse(b.from));
  return catalog as Catalog;
}
