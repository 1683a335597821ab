// Issue 9 "Done when": the console's own weight (JavaScript + CSS of the first load of `/`, gzip, as
// transferred) and its time to interactive with 100k events in the store, each page loaded cold (a
// new browser context: empty cache) in Debian's Chromium. Baseline in the same run and browser: Swagger
// UI at /docs, the only page the service served before the console. Prints tables, never asserts.
//   node --import tsx bench/console.ts
// BENCH_CONSOLE_EVENTS (default 100000) events over 200 accounts; BENCH_ROUNDS (default 5) cold loads per page.
//
// "Ready" is the console's User Timing mark `console:ready` (apps/console/src/ui.ts): the view is drawn
// and every region of it has its first API answer, read from navigation start. Swagger UI's is the
// moment its rendered spec (.information-container) is in the page, read the same way.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { chromiumPath } from "../test/engines/require-engine.ts";
import { openSqliteEventStore } from "../infra/sqlite/event-store.ts";
import { CHROMIUM_ARGS } from "../apps/console/browser.ts";
import { startServer } from "../test/harness/server.ts";
import { seedSynthetic } from "../test/fixtures/synthetic.ts";
import { fmt, printMachine, printTable } from "./machine.ts";

const EVENTS = Number(process.env.BENCH_CONSOLE_EVENTS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ACCOUNTS = 200;
const ADMIN_TOKEN = "bench-admin-token-0123456789abcdef";
const WEIGHT_BUDGET_KB = 300;
const READY_BUDGET_MS = 1000;

interface Load {
  readyMs: number;
  /** gzip bytes of .js and .css as transferred (Resource Timing encodedBodySize) */
  assetBytes: number;
  requests: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const kb = (bytes: number) => (bytes / 1024).toFixed(1);

/** one cold load: a new context (no cache, no storage), optionally signed in for this tab */
async function load(browser: Browser, url: string, ready: "mark" | string, token?: string): Promise<Load> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    if (token) await context.addInitScript(`sessionStorage.setItem("aggregator-console-token", ${JSON.stringify(token)})`);
    const page = await context.newPage();
    await page.goto(url, { waitUntil: "commit" });
    let readyMs: number;
    if (ready === "mark") {
      // polled over DevTools (waitForFunction would need eval, which the console's CSP forbids); the mark's time is the page's own
      for (let i = 0; !(await page.evaluate("performance.getEntriesByName('console:ready').length > 0")); i++) {
        if (i > 6000) throw new Error(`${url}: no console:ready mark after 30 s`);
        await new Promise((r) => setTimeout(r, 5));
      }
      readyMs = (await page.evaluate("performance.getEntriesByName('console:ready')[0].startTime")) as number;
    } else {
      await page.locator(ready).first().waitFor({ timeout: 30_000 });
      readyMs = (await page.evaluate("performance.now()")) as number;
    }
    const resources = (await page.evaluate(
      "performance.getEntriesByType('resource').map((r) => ({ name: r.name, size: r.encodedBodySize }))",
    )) as { name: string; size: number }[];
    const assets = resources.filter((r) => /\.(js|css)$/.test(new URL(r.name).pathname));
    return { readyMs, assetBytes: assets.reduce((n, r) => n + r.size, 0), requests: resources.length + 1 };
  } finally {
    await context.close();
  }
}

printMachine("console: first-load weight and time to interactive, 100k events, cold cache (Chromium)");
const executablePath = chromiumPath();
if (!executablePath) {
  console.log("skipped: no Chromium (apt-get install -y chromium)");
  process.exit(0);
}
const dir = mkdtempSync(join(tmpdir(), "aggregator-bench-console-"));
let server: Awaited<ReturnType<typeof startServer>> | undefined;
let browser: Browser | undefined;
try {
  const seeding = openSqliteEventStore(join(dir, "events.db"));
  const perAccount = EVENTS / ACCOUNTS;
  // about 125 requests per account, 5 minutes apart, ending now: the overview's last 24 hours hold them all
  await seedSynthetic(seeding, {
    accounts: ACCOUNTS,
    eventsPerAccount: perAccount,
    startMs: Date.now() - (perAccount / 4) * 300_000,
    stepMs: 300_000,
    chunk: 250,
  });
  await seeding.close();
  const started = performance.now();
  server = await startServer({ DATA_DIR: dir, ADMIN_TOKEN, LOG_LEVEL: "warn" });
  for (;;) {
    const ready = (await (await fetch(`${server.url}/ready`)).json()) as { lag: number; headPosition: number };
    if (ready.lag === 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  console.log(
    `store: ${fmt(EVENTS)} events, ${ACCOUNTS} accounts; projected in ${((performance.now() - started) / 1000).toFixed(1)} s after start`,
  );
  browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
  await load(browser, `${server.url}/`, "mark"); // the bundle is built when the server starts listening: make sure it is
  const cases: { page: string; url: string; ready: "mark" | string; token?: string }[] = [
    { page: "baseline: Swagger UI /docs", url: `${server.url}/docs`, ready: ".information-container" },
    { page: "console: sign-in (first visit)", url: `${server.url}/`, ready: "mark" },
    { page: "console: Overview, operator", url: `${server.url}/`, ready: "mark", token: ADMIN_TOKEN },
    { page: "console: Accounts list", url: `${server.url}/#/accounts`, ready: "mark", token: ADMIN_TOKEN },
    { page: "console: one account (500 events)", url: `${server.url}/#/accounts/user-7`, ready: "mark", token: ADMIN_TOKEN },
    { page: "console: Usage report", url: `${server.url}/#/usage/user-7`, ready: "mark", token: ADMIN_TOKEN },
    { page: "console: System", url: `${server.url}/#/system`, ready: "mark", token: ADMIN_TOKEN },
    { page: "console: Events, live tail", url: `${server.url}/#/events`, ready: ".event", token: ADMIN_TOKEN },
  ];
  const results = new Map<string, Load[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of cases) results.set(c.page, [...(results.get(c.page) ?? []), await load(browser, c.url, c.ready, c.token)]);
  }
  const baseline = results.get(cases[0]!.page)!;
  const baseReady = median(baseline.map((l) => l.readyMs));
  const baseBytes = median(baseline.map((l) => l.assetBytes));
  const rows = cases.map((c) => {
    const loads = results.get(c.page)!;
    const ready = median(loads.map((l) => l.readyMs));
    const bytes = median(loads.map((l) => l.assetBytes));
    return {
      page: c.page,
      "JS+CSS transferred (KB)": kb(bytes),
      requests: median(loads.map((l) => l.requests)),
      "ready, median (ms)": ready.toFixed(0),
      "ready, slowest (ms)": Math.max(...loads.map((l) => l.readyMs)).toFixed(0),
      "weight ÷ Swagger UI": (bytes / baseBytes).toFixed(2),
      "ready ÷ Swagger UI": (ready / baseReady).toFixed(2),
    };
  });
  console.log(`\ncold loads, ${ROUNDS} rounds per page (a new browser context each: no cache)`);
  printTable(rows);
  const weight = median(results.get(cases[2]!.page)!.map((l) => l.assetBytes));
  const slowest = Math.max(...cases.slice(1).map((c) => median(results.get(c.page)!.map((l) => l.readyMs))));
  console.log("");
  printTable([
    {
      target: `first load of / : JS + CSS, gzip`,
      measured: `${kb(weight)} KB`,
      budget: `≤ ${WEIGHT_BUDGET_KB} KB`,
      reached: weight <= WEIGHT_BUDGET_KB * 1024 ? "yes" : "no",
    },
    {
      target: "interactive, slowest console page (median)",
      measured: `${slowest.toFixed(0)} ms`,
      budget: `≤ ${READY_BUDGET_MS} ms`,
      reached: slowest <= READY_BUDGET_MS ? "yes" : "no",
    },
  ]);
} finally {
  await browser?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
}
