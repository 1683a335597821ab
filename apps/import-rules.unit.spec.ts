import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

// The dependency rules of shared/DESIGN.md, checked on every test run.
const ROOT = resolve(import.meta.dirname, "..");
const VENDOR_SDKS = ["@eventstore/db-client", "mongodb", "kafkajs", "better-sqlite3", "pg"];

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mjs)$/.test(e.name) && !e.parentPath.includes("node_modules"))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|^\s*import\s+["']([^"']+)["']/gm)].map(
    (m) => m[1] ?? m[2] ?? m[3]!,
  );
}

/** the top-level folder an import lands in, or the npm package it names */
function target(file: string, spec: string): { folder?: string; pkg?: string } {
  if (spec.startsWith(".")) return { folder: relative(ROOT, resolve(ROOT, file, "..", spec)).split("/")[0]! };
  if (spec.startsWith("node:")) return {};
  return { pkg: spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]! };
}

const violations = (dir: string, allowed: (t: { folder?: string; pkg?: string }, file: string) => boolean) =>
  sources(dir).flatMap((file) => importsOf(file).filter((spec) => !allowed(target(file, spec), file)).map((spec) => `${file} imports ${spec}`));

const isTest = (file: string) => file.endsWith(".spec.ts") || file.endsWith(".contract.ts");

describe("import rules", () => {
  it("domain/ imports only domain/ and node builtins", () => {
    expect(violations("domain", (t, f) => isTest(f) || (t.pkg === undefined && (t.folder ?? "domain") === "domain"))).toEqual([]);
  });

  it("projections/ imports only domain/ and projections/", () => {
    expect(violations("projections", (t, f) => isTest(f) || (t.pkg === undefined && ["domain", "projections", undefined].includes(t.folder)))).toEqual([]);
  });

  it("infra/ never imports apps/", () => {
    expect(violations("infra", (t) => t.folder !== "apps")).toEqual([]);
  });

  it("vendor SDKs appear only under infra/", () => {
    const outside = [...violations("apps", (t) => !VENDOR_SDKS.includes(t.pkg ?? "")), ...violations("projections", (t) => !VENDOR_SDKS.includes(t.pkg ?? ""))];
    expect(outside).toEqual([]);
  });

  it("tsyringe appears only in apps/shared/container.ts", () => {
    const users = ["domain", "projections", "infra", "apps"].flatMap((dir) =>
      violations(dir, (t, f) => t.pkg !== "tsyringe" || f === "apps/shared/container.ts"),
    );
    expect(users).toEqual([]);
  });

  it("the checker sees imports (guards against a regex that matches nothing)", () => {
    expect(importsOf("apps/shared/container.ts")).toContain("tsyringe");
    expect(importsOf("domain/account.ts").length).toBeGreaterThan(0);
  });
});
