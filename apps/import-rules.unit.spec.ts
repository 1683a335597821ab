import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

// The dependency rules (README, the folder table), checked on every test run:
//   domain ← projections ← application ← apps         (each imports only what is left of it)
//   infra: adapters; imports domain/, projections/ and application's ports, never apps/
//   vendor SDKs only in infra/ (and the support folders test/ and bench/, which talk to engines raw)
//   tsyringe only in the composition root (apps/composition/)
//   production code never imports test/ or bench/; specs may import anything
const ROOT = resolve(import.meta.dirname, "..");
const VENDOR_SDKS = [
  "@eventstore/db-client",
  "mongodb",
  "kafkajs",
  "better-sqlite3",
  "pg",
  // telemetry: metrics and traces are made at the ports by infra/telemetry, never inside the use cases
  "prom-client",
  "@opentelemetry/api",
  "@opentelemetry/core",
  "@opentelemetry/sdk-trace-base",
  "@opentelemetry/exporter-trace-otlp-http",
  "@opentelemetry/resources",
];
const PRODUCTION = ["domain", "projections", "application", "infra", "apps"];
/** application modules that declare a port infra implements (with its error class): infra may import them */
const PORTS = ["application/gateway/provider.ts"];

interface Import {
  spec: string;
  /** `import type` / `export type`, or every named binding marked `type` */
  typeOnly: boolean;
}

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mjs)$/.test(e.name) && !e.parentPath.includes("node_modules"))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

const IMPORT =
  /(?:^|\n)\s*(import|export)\s+(type\s+)?([^;]*?)\s*from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|^\s*import\s+["']([^"']+)["']/gm;

function importsOf(file: string): Import[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  return [...text.matchAll(IMPORT)].map((m) => {
    if (m[4] === undefined) return { spec: (m[5] ?? m[6])!, typeOnly: false };
    const names = /^\{([^}]*)\}$/
      .exec(m[3]!.trim())?.[1]
      ?.split(",")
      .map((n) => n.trim())
      .filter(Boolean);
    const allTyped = names !== undefined && names.length > 0 && names.every((n) => n.startsWith("type "));
    return { spec: m[4], typeOnly: m[2] !== undefined || allTyped };
  });
}

interface Target {
  /** the top-level folder an import lands in */
  folder?: string;
  /** the file it lands in, from the root */
  path?: string;
  /** the npm package it names */
  pkg?: string;
}

function target(file: string, spec: string): Target {
  if (spec.startsWith(".")) {
    const path = relative(ROOT, resolve(ROOT, file, "..", spec));
    return { folder: path.split("/")[0]!, path };
  }
  if (spec.startsWith("node:")) return {};
  return { pkg: spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]! };
}

const isTest = (file: string) => file.endsWith(".spec.ts");

/** `file imports spec` for every import of `dirs` that `allowed` refuses; spec files are exempt unless `specsToo` */
function violations(dirs: string[], allowed: (t: Target, i: Import, file: string) => boolean, specsToo = false): string[] {
  return dirs
    .flatMap(sources)
    .filter((file) => specsToo || !isTest(file))
    .flatMap((file) =>
      importsOf(file)
        .filter((i) => !allowed(target(file, i.spec), i, file))
        .map((i) => `${file} imports ${i.spec}`),
    );
}

const inside = (t: Target, ...folders: string[]) => t.folder !== undefined && folders.includes(t.folder);

describe("import rules", () => {
  it("domain/ imports only domain/ (no npm packages)", () => {
    expect(violations(["domain"], (t) => t.pkg === undefined && (t.folder === undefined || inside(t, "domain")))).toEqual([]);
  });

  it("projections/ imports only domain/ and projections/ (no npm packages)", () => {
    expect(
      violations(["projections"], (t) => t.pkg === undefined && (t.folder === undefined || inside(t, "domain", "projections"))),
    ).toEqual([]);
  });

  it("application/ imports domain/, projections/ and application/, never infra/ or apps/", () => {
    expect(
      violations(
        ["application"],
        (t) => t.pkg !== undefined || t.folder === undefined || inside(t, "domain", "projections", "application"),
      ),
    ).toEqual([]);
  });

  it("infra/ imports domain/, projections/ and application's ports (types, or a port module), never apps/", () => {
    const allowed = (t: Target, i: Import) =>
      t.folder === undefined ||
      inside(t, "domain", "projections", "infra") ||
      (inside(t, "application") && (i.typeOnly || PORTS.includes(t.path!)));
    expect(violations(["infra"], allowed)).toEqual([]);
  });

  it("production code never imports the support folders test/ and bench/", () => {
    expect(violations(PRODUCTION, (t) => !inside(t, "test", "bench"))).toEqual([]);
  });

  it("vendor SDKs appear only under infra/ (and the support folders)", () => {
    expect(violations(["domain", "projections", "application", "apps"], (t) => !VENDOR_SDKS.includes(t.pkg ?? ""), true)).toEqual([]);
  });

  it("tsyringe appears only in the composition root, apps/composition/", () => {
    const users = violations(
      [...PRODUCTION, "test", "bench"],
      (t, _i, f) => t.pkg !== "tsyringe" || f.startsWith("apps/composition/"),
      true,
    );
    expect(users).toEqual([]);
  });

  it("the checker sees imports and type-only imports (guards against a regex that matches nothing)", () => {
    expect(importsOf("apps/composition/container.ts").map((i) => i.spec)).toContain("tsyringe");
    expect(importsOf("domain/account.ts").length).toBeGreaterThan(0);
    const topic = importsOf("infra/kafka/topic-stream.ts").find((i) => i.spec.includes("application/"));
    expect(topic).toMatchObject({ typeOnly: true });
    expect(importsOf("infra/providers/http-provider.ts").find((i) => i.spec.includes("application/"))).toMatchObject({ typeOnly: false });
    expect(sources("application").length).toBeGreaterThan(20);
  });
});
