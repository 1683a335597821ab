import { build } from "esbuild";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { gzipSync } from "node:zlib";

// The console's bundle, built in memory when the server first needs it (nothing built is written to
// disk or committed): esbuild bundles src/main.ts with its CSS and uPlot's into app.js and app.css,
// minified, each also gzipped once so every request is a buffer copy.

const SRC = join(import.meta.dirname, "src");

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
  const result = await build({
    entryPoints: { app: join(SRC, "main.ts") },
    bundle: true,
    minify: true,
    format: "esm",
    target: ["chrome111", "firefox115", "safari16"],
    outdir: "/console", // virtual: write is false
    write: false,
    logLevel: "silent",
    legalComments: "eof",
  });
  const files = new Map<string, Asset>();
  const hash = createHash("sha256");
  for (const out of result.outputFiles) {
    const name = basename(out.path);
    hash.update(out.contents);
    files.set(name, asset(name, Buffer.from(out.contents)));
  }
  files.set("favicon.svg", asset("favicon.svg", readFileSync(join(SRC, "favicon.svg"))));
  return { version: hash.digest("hex").slice(0, 16), files };
}
