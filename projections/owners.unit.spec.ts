import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { CHECKPOINTS } from "./checkpoints.ts";
import { allProjections } from "./index.ts";

// A read model is named once, by the module that owns it; everything else reads it through that module
// (balances(reads), getBalance(reads, id), checkpoints(reads)…), so a collection is renamed in one place.
const ROOT = resolve(import.meta.dirname, "..");
const OWNERS: Record<string, string> = {
  ...Object.fromEntries(allProjections.map((p) => [p.collection, `projections/${fileOf(p.name)}`])),
  [CHECKPOINTS]: "projections/checkpoints.ts",
  idempotency: "apps/api/idempotency.ts",
};

/** the module of a projection, from its name (model-usage → model-usage.ts; totals live with event-stats) */
function fileOf(name: string) {
  return name === "totals" ? "event-stats.ts" : `${name}.ts`;
}

const sources = (dir: string) =>
  readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts") && !e.parentPath.includes("node_modules"))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));

/** `collection("x")`, `collection<T>("x")` and `collection: "x"` with a literal name */
const NAMED = /collection(?:<[^>]*>)?\(\s*["']([^"']+)["']|collection:\s*["']([^"']+)["']/g;

describe("read-model names", () => {
  it("each owner module exists and names its collection", () => {
    for (const [name, owner] of Object.entries(OWNERS)) expect(readFileSync(join(ROOT, owner), "utf8"), owner).toContain(`"${name}"`);
  });

  it("are written as a literal only by their owner module", () => {
    const found = ["domain", "projections", "application", "infra", "apps", "test", "bench"].flatMap(sources).flatMap((file) =>
      [...readFileSync(join(ROOT, file), "utf8").matchAll(NAMED)]
        .map((m) => (m[1] ?? m[2])!)
        .filter((name) => name in OWNERS && OWNERS[name] !== file)
        .map((name) => `${file} names ${name}`),
    );
    expect(found).toEqual([]);
  });
});
