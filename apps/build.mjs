// `npm run build` (also run by `npm install` / `npm ci` through "prepare"): the programs compiled to
// JavaScript in dist/, so production starts `node dist/main.js` with no TypeScript loader (tsx is for
// development and tests). One esbuild bundle per program, code split into shared chunks (the lazy
// imports of the composition root stay lazy), with the packages it uses bundled in: resolving and
// compiling hundreds of node_modules files is most of a start (start: ~1.0 s of CPU with packages left
// in node_modules, ~0.65 s bundled, ~1.8 s through tsx, measured under load; bench/start.ts). Plain
// JavaScript, so it runs before anything else is built.
import { build } from "esbuild";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, relative, resolve } from "node:path";

const consoleOptions = JSON.parse(await readFile(new URL("./console/bundle.json", import.meta.url), "utf8"));

const ROOT = resolve(import.meta.dirname, "..");
export const DIST = resolve(ROOT, "dist");

// Files found next to a source file at run time (the SQLite writer's worker, the model catalog, the
// console's sources, package.json): the bundle lives in dist/, so each `new URL("./x", import.meta.url)`
// whose x exists in the source tree, and each `import.meta.dirname`, is rewritten to point from dist/
// back to the same file there. A URL naming something not in the source tree (the console's prebuilt
// files in dist/console/) is left as written, relative to the bundle.
const sourceRelativePaths = {
  name: "source-relative-paths",
  setup(b) {
    b.onLoad({ filter: /\.ts$/, namespace: "file" }, async ({ path }) => {
      let contents = await readFile(path, "utf8");
      if (!contents.includes("import.meta")) return { contents, loader: "ts" };
      const fromDist = (target) => relative(DIST, resolve(dirname(path), target)) || ".";
      contents = contents
        .replace(/new URL\("(\.{1,2}\/[^"]+)", import\.meta\.url\)/g, (url, target) =>
          existsSync(resolve(dirname(path), target)) ? `new URL(${JSON.stringify(fromDist(target))}, import.meta.url)` : url,
        )
        .replace(
          /import\.meta\.dirname/g,
          () => `decodeURIComponent(new URL(${JSON.stringify(`${fromDist(".")}/`)}, import.meta.url).pathname)`,
        );
      return { contents, loader: "ts" };
    });
  },
};

// Left in node_modules: better-sqlite3 (a native addon), packages that find their own files through
// __dirname (swagger-ui's static assets), esbuild (it runs its binary), and the
// drivers of the production engines, loaded only when configured (mongodb's optional native deps).
// Also left out: fastify's default schema compilers (ajv, fast-json-stringify): the API uses zod's
// (apps/api/app.ts), so only /docs's inner fastify instance, built on the first /docs request, loads them.
const EXTERNAL = [
  "better-sqlite3",
  "@fastify/swagger-ui",
  "@fastify/ajv-compiler",
  "@fastify/fast-json-stringify-compiler",
  "esbuild",
  "kafkajs",
  "mongodb",
  "pg",
  "@eventstore/db-client",
];

// The programs without the API (npm start's worker thread, the projector, the relay) never resolve the API's or
// the gateway's tokens (apps/composition/container.ts imports those modules lazily): their builds leave
// them out, in their place a module that says so if ever loaded.
const apiLeftOut = {
  name: "api-left-out",
  setup(b) {
    b.onResolve({ filter: /\/api\/app\.ts$|\/gateway\/gateway\.ts$/ }, ({ path }) => ({ path, namespace: "left-out" }));
    b.onLoad({ filter: /.*/, namespace: "left-out" }, ({ path }) => ({
      contents: `throw new Error(${JSON.stringify(`${path} is not part of this program`)});`,
      loader: "js",
    }));
  },
};

// The OpenTelemetry packages from their ES module builds (package.json "module"): their CommonJS builds
// re-export every name through a getter, and the bundle's CommonJS interop adds another, paid on every
// access in the span path (a few µs per sampled request; BENCHMARKS.md, "Telemetry overhead").
const openTelemetryEsm = {
  name: "opentelemetry-esm",
  setup(b) {
    b.onResolve({ filter: /^@opentelemetry\/[^/]+$/ }, ({ path, resolveDir }) => {
      // the package's folder: up from its main file to the package.json that names it
      const manifestOf = (dir) =>
        existsSync(resolve(dir, "package.json")) ? JSON.parse(readFileSync(resolve(dir, "package.json"), "utf8")) : {};
      for (let dir = dirname(createRequire(resolve(resolveDir, "_.js")).resolve(path)); dir !== dirname(dir); dir = dirname(dir)) {
        const { name, module } = manifestOf(dir);
        if (name === path) return module ? { path: resolve(dir, module) } : undefined;
      }
      return undefined;
    });
  },
};

// @fastify/swagger requires the `yaml` package (~60 files, ~35 ms of every start) for YAML documents the API
// never serves at start (only /docs/yaml does, on demand): bundled, it gets a stand-in that loads the real
// package from node_modules on first use.
const yamlOnDemand = {
  name: "yaml-on-demand",
  setup(b) {
    b.onResolve({ filter: /^yaml$/ }, ({ namespace }) =>
      namespace === "yaml-on-demand" ? { path: "yaml", external: true } : { path: "yaml", namespace: "yaml-on-demand" },
    );
    b.onLoad({ filter: /.*/, namespace: "yaml-on-demand" }, () => ({
      contents: `let yaml; const real = () => (yaml ??= require("yaml"));
module.exports = { parse: (...a) => real().parse(...a), stringify: (...a) => real().stringify(...a) };`,
      loader: "js",
    }));
  },
};

/** one bundle per program of `entryPoints`, code split into chunks they share (lazy imports stay lazy) */
const programs = (entryPoints, plugins = []) =>
  build({
    absWorkingDir: ROOT,
    entryPoints,
    outdir: DIST,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    external: EXTERNAL,
    // bundled CommonJS packages call require() for Node's built-ins: give the ES module bundle one
    banner: { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' },
    sourcemap: "linked",
    logLevel: "warning",
    plugins: [sourceRelativePaths, openTelemetryEsm, yamlOnDemand, ...plugins],
    write: false,
  });

export async function buildAll() {
  // Two builds: esbuild splits by file, so a file one program needs in part (zod's core re-exports every
  // locale; the API's zod uses them) lands whole in a chunk every program imports. The programs without
  // the API are built apart and load only what they use (npm start's worker thread: 0.55 MB of code
  // instead of 2.35 MB, ~10 MB less RSS). Chunks both builds make alike have the same name and contents.
  const [api, background] = await Promise.all([
    programs({ main: "apps/main.ts", cli: "apps/cli/main.ts" }),
    programs(
      {
        // npm start's projector/relay thread (apps/projector/supervisor.ts looks for it next to its own chunk)
        "projector-worker": "apps/projector/worker.ts",
        projector: "apps/projector/main.ts",
        relay: "apps/relay/main.ts",
      },
      [apiLeftOut],
    ),
  ]);
  // the web console's browser bundle (apps/console/build.ts reads it from here when compiled)
  const browser = await build({ ...consoleOptions, absWorkingDir: ROOT, outdir: resolve(DIST, "console"), write: false });
  await replaceDist([...api.outputFiles, ...background.outputFiles, ...browser.outputFiles]);
}

/**
 * Writes the outputs into dist/ file by file, each through a temporary file and a rename, and removes
 * what is no longer built. A program already running from dist/ (a test run, a second build in parallel)
 * never reads a half-written file, and its lazily imported chunks stay: unchanged code keeps its name.
 */
async function replaceDist(outputs) {
  const wanted = new Set(outputs.map((o) => o.path));
  for (const { path, contents } of outputs) {
    const current = await readFile(path).catch(() => null);
    if (current?.equals(contents)) continue;
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, contents);
    await rename(temporary, path);
  }
  for (const entry of await readdir(DIST, { recursive: true, withFileTypes: true })) {
    const path = resolve(entry.parentPath, entry.name);
    if (entry.isFile() && !wanted.has(path) && !path.endsWith(".tmp")) await rm(path, { force: true });
  }
}

if (import.meta.filename === process.argv[1]) {
  const started = performance.now();
  await buildAll();
  console.log(`built dist/ in ${Math.round(performance.now() - started)} ms`);
}
