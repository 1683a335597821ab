import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import type { BuildOptions } from "esbuild";
import options from "./bundle.json" with { type: "json" };

// The console's bundle: esbuild bundles src/main.ts with its CSS and uPlot's into app.js and app.css,
// minified (options in bundle.json, shared with the production build, apps/build.mjs). The compiled
// program reads what `npm run build` wrote to dist/console/; from TypeScript (development, tests) it is
// built in memory when the server first needs it. Each file is gzipped once, so a request is a buffer copy.

const SRC = join(import.meta.dirname, "src");
const ROOT = resolve(import.meta.dirname, "../..");
/** the production build's copy, next to the compiled program (import.meta.url is then dist/<chunk>.js) */
const PREBUILT = import.meta.url.endsWith(".js") ? new URL("./console/", import.meta.url) : null;

export interface Asset {
  body: Buffer;
  gzip: Buffer;
  type: string;
}

export interface ConsoleAssets {
  /** content hash of app.js + app.css: the cache-busting `?v=` of index.html */
  version: string;
  files: Map<string, Asset>;
}

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".html": "text/html; charset=utf-8",
};
const typeOf = (name: string) => TYPES[name.slice(name.lastIndexOf("."))] ?? "application/octet-stream";
export const asset = (name: string, body: Buffer): Asset => ({ body, gzip: gzipSync(body, { level: 9 }), type: typeOf(name) });

export async function buildConsole(): Promise<ConsoleAssets> {
  const outputs = PREBUILT
    ? ["app.js", "app.css"].map((name) => ({ name, contents: readFileSync(new URL(name, PREBUILT)) }))
    : await inMemory();
  const files = new Map<string, Asset>();
  const hash = createHash("sha256");
  for (const { name, contents } of outputs) {
    hash.update(contents);
    files.set(name, asset(name, Buffer.from(contents)));
  }
  files.set("favicon.svg", asset("favicon.svg", readFileSync(join(SRC, "favicon.svg"))));
  return { version: hash.digest("hex").slice(0, 16), files };
}

async function inMemory() {
  const { build } = await import("esbuild"); // development only: the compiled program never loads esbuild
  const result = await build({ ...(options as BuildOptions), absWorkingDir: ROOT, outdir: "/console", write: false }); // virtual: write is false
  return result.outputFiles!.map((out) => ({ name: basename(out.path), contents: out.contents }));
}
