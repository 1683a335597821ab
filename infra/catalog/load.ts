import { readFileSync } from "node:fs";
import * as z from "../zod-mini.ts";
import type { Catalog } from "../../domain/catalog.ts";

const count = (min: z.core.$ZodCheck<number>) => z.int().check(min);
const price = z.strictObject({
  from: z.iso.datetime({ offset: true }),
  promptPerMillion: count(z.minimum(0)),
  completionPerMillion: count(z.minimum(0)),
});
const schema = z.strictObject({
  version: z.string().check(z.minLength(1)),
  models: z.array(
    z.strictObject({
      id: z.string().check(z.minLength(1)),
      provider: z.string().check(z.minLength(1)),
      upstreamId: z.string().check(z.minLength(1)),
      contextLength: count(z.positive()),
      maxOutputTokens: count(z.positive()),
      priority: z.optional(z.int()),
      prices: z.array(price).check(z.minLength(1)),
    }),
  ),
});

/** The catalog file (default: the one shipped beside this module), validated. */
export function loadCatalog(file = new URL("./models.json", import.meta.url)): Catalog {
  const catalog = z.parse(schema, JSON.parse(readFileSync(file, "utf8")));
  for (const m of catalog.models) m.prices.sort((a, b) => Date.parse(a.from) - Date.parse(b.from));
  return catalog as Catalog;
}
