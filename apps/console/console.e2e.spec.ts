import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumPath, engineUrl } from "../../test/engines/require-engine.ts";
import { openMongoReadStore } from "../../infra/mongo/read-store.ts";
import { openSqliteEventStore } from "../../infra/sqlite/event-store.ts";
import { startServer } from "../../test/harness/server.ts";
import { startUpstreamFixture, type UpstreamFixture } from "../../test/fixtures/upstream-fixture.ts";
import { launchBrowser, screenshot, signIn, watchPage } from "./browser.ts";

// The console in a real headless Chromium against `npm start` (embedded SQLite), driven through the
// public API the way people use it: an operator and a user sign in, money moves and shows up live,
// the audit names a tampered event, keys are created and revoked, the CSV equals the report, and
// hostile text stays text. Screenshots of every page land in .screenshots/ (git-ignored).

const chromium = chromiumPath();
const mongoUrl = engineUrl("mongo", "MONGO_URL");
const kafka = engineUrl("kafka", "KAFKA_BROKERS");
const ADMIN = "console-e2e-admin-token-0123456789";
const XSS_IMG = "<img src=x onerror=window.__xss=1;console.log(/XSS-RAN/.source)>";
const XSS_SCRIPT = "<script>window.__xss=1;console.log(/XSS-RAN/.source)</script>";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are read field by field, as any JSON client reads them
type Json = Record<string, any>;
/** "$1,234.50", "-0.0036" → micro-USD */
const micro = (text: string) => {
  const [whole, frac = ""] = text.replace(/[$,-]/g, "").split(".");
  return BigInt(whole!) * 1_000_000n + BigInt(frac.padEnd(6, "0"));
};

describe.skipIf(!chromium)("the web console in Chromium", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "console-e2e-"));
  let server: Awaited<ReturnType<typeof startServer>>;
  let upstream: UpstreamFixture;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let aliceKey: string;
  const pages: Page[] = [];
  const seen: { errors: string[]; logs: string[] }[] = [];

  async function api(method: string, path: string, body?: unknown, token = ADMIN): Promise<Json> {
    const res = await fetch(server.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as Json;
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`);
    return json;
  }
  async function open(token: string, hash = "", url = server.url) {
    const page = await browser.context.newPage();
    pages.push(page);
    seen.push(watchPage(page));
    await signIn(page, url, token, hash);
    return page;
  }
  const stat = (page: Page, label: string) =>
    page
      .locator(".stat", { has: page.locator(".stat-label", { hasText: new RegExp(`^${label}$`) }) })
      .first()
      .locator(".stat-value");
  /** polls until the stat shows `value` (fails after 20 s with what it showed last) */
  async function statReads(page: Page, label: string, value: string) {
    const deadline = Date.now() + 20_000;
    let shown: string | null = null;
    while ((shown = await stat(page, label).textContent()) !== value) {
      if (Date.now() > deadline) expect(shown, `${label} after 20 s`).toBe(value);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  /** polls an expression through DevTools (page.waitForFunction would need the CSP to allow eval) */
  async function until(page: Page, expression: string, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    while (!(await page.evaluate(expression))) {
      if (Date.now() > deadline) throw new Error(`not true after ${timeoutMs} ms: ${expression}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  beforeAll(async () => {
    upstream = await startUpstreamFixture();
    server = await startServer({
      DATA_DIR: dataDir,
      ADMIN_TOKEN: ADMIN,
      OPENAI_BASE_URL: upstream.baseUrl("openai"),
      OPENAI_API_KEY: "upstream-openai-key-0123456789",
      OPENROUTER_BASE_URL: upstream.baseUrl("openrouter"),
      OPENROUTER_API_KEY: "upstream-openrouter-key-0123456789",
    });
    browser = await launchBrowser(chromium!);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await upstream?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("a first visit signs in with the admin token and, with no data yet, shows how to get started", async () => {
    const page = await browser.context.newPage();
    pages.push(page);
    seen.push(watchPage(page));
    await page.goto(`${server.url}/`);
    await page.getByLabel("Admin token or API key").waitFor();
    await screenshot(page, "01-sign-in");
    await page.getByLabel("Admin token or API key").fill("not-the-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("the token is not a valid admin token or API key").waitFor(); // the problem's detail
    await page.getByLabel("Admin token or API key").fill(ADMIN);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Get started: no events yet" }).waitFor();
    expect(await page.locator(".who").textContent()).toContain("Operator");
    await screenshot(page, "02-overview-getting-started");
  });

  it("a payment and a usage charge made through the API appear on Overview, Accounts and Events without reloading", async () => {
    const overview = pages[0]!;
    const account = await open(ADMIN, "#/accounts/alice");
    const events = await open(ADMIN, "#/events");
    await account.getByText("account alice not found").first().waitFor(); // alice has no events yet
    await events.getByText("waiting for events", { exact: false }).waitFor();
    for (const p of [overview, account, events]) await p.evaluate("window.__stayed = true"); // gone if the page reloads

    const paid = await api("POST", "/billing/payment/process", { userId: "alice", amount: "25", method: "card" });
    const paidAt = (await api("GET", "/audit/transactions/alice")).items[0].occurredAt as string;
    await new Promise((r) => setTimeout(r, Math.max(0, Math.ceil(Date.parse(paidAt) / 1000) * 1000 + 50 - Date.now()))); // next second: as-of can tell them apart
    const used = await api("POST", "/billing/usage/track", {
      userId: "alice",
      provider: "openai",
      model: "gpt-4o-mini",
      promptTokens: 12000,
      completionTokens: 3000,
    });
    expect(used.cost).toBe("0.0036");

    // each figure comes from its own query and refreshes on its own: wait for each one
    await statReads(overview, "Revenue", "$0.0036");
    await statReads(overview, "Payments", "$25.00");
    await until(account, `document.querySelector(".stats")?.innerText.includes("$24.9964")`);
    expect(await stat(account, "Balance").textContent()).toBe("$24.9964");
    await account.locator("tbody tr", { hasText: "usage" }).waitFor();
    expect(await account.locator("tbody tr").count()).toBe(2);
    await events.locator(".event", { hasText: "payment_processed" }).waitFor();
    await events.locator(".event", { hasText: "ai_usage" }).waitFor();
    expect(await events.locator(".event", { hasText: "alice" }).count()).toBeGreaterThanOrEqual(4);
    for (const p of [overview, account, events]) expect(await p.evaluate("window.__stayed")).toBe(true);
    expect(paid.position).toBeLessThan(used.position);
  });

  it("balance as of an earlier instant shows the older value; audit verify says the chain holds", async () => {
    const account = pages[1]!;
    const paidAt = (await api("GET", "/audit/transactions/alice")).items[0].occurredAt as string;
    const instant = new Date(Math.ceil(Date.parse(paidAt) / 1000) * 1000).toISOString().slice(0, 19); // after the payment, before the usage
    await account.getByLabel("Instant (UTC)").fill(instant);
    await account.getByRole("button", { name: "Show balance" }).click();
    await account.locator(".as-of-balance").waitFor();
    expect(await account.locator(".as-of-balance").textContent()).toBe("$25.00");
    expect(await stat(account, "Balance").textContent()).toBe("$24.9964");
    await account.getByRole("button", { name: "Verify hash chain" }).click();
    await account.locator(".verdict.ok").waitFor();
    expect(await account.locator(".verdict").textContent()).toContain("Chain holds");
    expect(await account.locator(".verdict").textContent()).toContain("matches");
    await screenshot(account, "04-account");
  });

  it("a user's key shows that user's account only, even when the URL names another account", async () => {
    aliceKey = (await api("POST", "/auth/api-keys", { userId: "alice", name: "console", scopes: ["chat", "billing:read", "keys"] })).key;
    await api("POST", "/billing/payment/process", { userId: "bob", amount: "7.77" });
    const page = await open(aliceKey);
    expect(await page.locator(".who").textContent()).toContain("alice");
    await until(page, `document.body.innerText.includes("$24.9964")`);
    expect(await page.locator("nav.menu").textContent()).not.toMatch(/Events|System/);
    await screenshot(page, "05-user-overview");
    for (const hash of ["#/accounts/bob", "#/usage/bob"]) {
      await page.goto(`${server.url}/${hash}`);
      await page.locator(".problem").first().waitFor();
      expect(await page.locator(".problem").first().textContent()).toContain("no such account for this API key");
      expect(await page.locator("body").textContent()).not.toContain("7.77");
    }
    await screenshot(page, "06-user-other-account-refused");
    await page.goto(`${server.url}/#/events`);
    await page.getByText("this route needs the admin token").waitFor(); // the API refuses, the page says so
    await page.goto(`${server.url}/#/accounts`);
    await until(page, `document.querySelector("h1")?.textContent === "Account alice"`);
  });

  it("the keys page creates a key (secret shown once) and revokes it after a confirmation", async () => {
    const page = await open(ADMIN, "#/keys");
    await page.getByLabel("User id").fill("alice");
    await page.getByLabel("Name", { exact: true }).fill("ci-robot");
    await page.getByLabel("Budget (USD)").fill("5.5");
    await page.getByRole("button", { name: "Create key" }).click();
    const secret = page.getByLabel("The new API key");
    await secret.waitFor();
    const key = await secret.inputValue();
    expect(key).toMatch(/^aia_/);
    expect((await api("GET", "/auth/me", undefined, key)).limits).toEqual({ budget: "5.5" });
    const row = page.locator("tbody tr", { hasText: "ci-robot" });
    await row.getByText("active").waitFor();
    await screenshot(page, "07-keys-created");
    await page.getByRole("button", { name: "I have stored it" }).click();
    expect(await page.locator("body").textContent()).not.toContain(key.slice(-20)); // shown once, then gone
    await row.getByRole("button", { name: "Revoke key ci-robot" }).click();
    await page.getByRole("dialog").getByText("cannot be undone", { exact: false }).waitFor();
    await page.getByRole("dialog").getByRole("button", { name: "Revoke key" }).click();
    await row.getByText("revoked").waitFor();
    const refused = await fetch(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${key}` } });
    expect(refused.status).toBe(401);
  });

  it("the usage page's CSV download equals the report", async () => {
    await api("POST", "/billing/usage/track", {
      userId: "alice",
      provider: "openrouter",
      model: "gpt-4o",
      promptTokens: 1000,
      completionTokens: 100,
    });
    const last = await api("POST", "/billing/usage/track", {
      userId: "alice",
      provider: "openai",
      model: "gpt-4o",
      promptTokens: 2000,
      completionTokens: 200,
      timestamp: new Date(Date.now() - 3 * 86_400_000).toISOString(),
    });
    const report = await api("GET", `/billing/report/alice?minPosition=${last.position}`); // the read model has it
    expect(report.daily.length).toBeGreaterThanOrEqual(2);
    const page = await open(ADMIN, "#/usage/alice");
    await page.getByRole("button", { name: "Download CSV" }).waitFor();
    await until(page, `document.querySelectorAll(".table-wrap tbody tr").length === ${report.daily.length}`); // not uPlot's legend table
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download CSV" }).click()]);
    const csv = readFileSync((await download.path())!, "utf8");
    const columns = ["day", "provider", "model", "requests", "promptTokens", "completionTokens", "tokens", "cost"];
    expect(csv.split("\r\n")).toEqual([
      columns.join(","),
      ...report.daily.map((r: Json) => columns.map((c) => String(r[c])).join(",")),
      "",
    ]);
    expect(download.suggestedFilename()).toBe(`usage-alice-${report.from}-${report.to}.csv`);
    await screenshot(page, "08-usage");
  });

  it("script and img payloads in an analytics event, a key name, a model id and a user id are shown as text everywhere, and never run", async () => {
    await api("POST", "/analytics/track-event", { userId: "alice", name: XSS_SCRIPT, properties: { note: XSS_IMG } });
    await api("POST", "/auth/api-keys", { userId: "alice", name: XSS_SCRIPT, scopes: ["chat"] });
    const usage = await api("POST", "/billing/usage/track", {
      userId: "alice",
      provider: "openai",
      model: XSS_IMG,
      promptTokens: 10,
      completionTokens: 10,
      cost: "0.01",
    });
    await expect(api("POST", "/billing/payment/process", { userId: XSS_IMG, amount: "1" })).rejects.toThrow("400"); // ids cannot carry it
    const page = await open(ADMIN);
    const shows = async (hash: string, texts: string[]) => {
      await page.goto(`${server.url}/${hash}`);
      await page.locator("h1").waitFor();
      for (const text of texts) {
        // visible text (innerText leaves out what is hidden), with every event expanded
        await until(
          page,
          `(document.querySelectorAll("details").forEach((d) => (d.open = true)), document.body.innerText.includes(${JSON.stringify(text)}))`,
        );
      }
      expect(await page.evaluate("document.querySelectorAll('img').length"), hash).toBe(0);
      expect(await page.evaluate("document.scripts.length"), hash).toBe(1);
      expect(await page.evaluate("window.__xss"), hash).toBeUndefined();
    };
    await api("GET", `/billing/report/alice?minPosition=${usage.position}`);
    await shows("#/", [XSS_IMG]);
    await shows("#/accounts/alice", [`model: ${XSS_IMG}`]);
    await shows("#/usage/alice", [XSS_IMG]);
    await shows("#/keys", [XSS_SCRIPT]);
    await page.goto(`${server.url}/#/`); // the events page starts at the latest 100: all three are there
    await shows("#/events", [JSON.stringify(XSS_SCRIPT), JSON.stringify(XSS_IMG)]);
    await shows(`#/accounts/${encodeURIComponent(XSS_IMG)}`, [`Account ${XSS_IMG}`]);
    await screenshot(page, "09-user-id-payload-in-url");
    await shows(`#/usage/${encodeURIComponent(XSS_SCRIPT)}`, [XSS_SCRIPT]);
    for (const s of seen) expect(s.logs.filter((l) => l.includes("XSS-RAN"))).toEqual([]);
  });

  it("the gateway page sends a request with the signed-in key and shows what it cost; system and the rest render", async () => {
    const page = await open(aliceKey, "#/gateway");
    await page.getByRole("button", { name: "Send request" }).click();
    await page.locator(".answer-text").waitFor();
    expect(await page.locator(".answer-text").textContent()).toBe("Hello from fixture");
    const { headPosition } = await api("GET", "/ready"); // the projector runs in another process: wait for the charge
    const charged = (await api("GET", `/billing/transactions/alice?limit=1&minPosition=${headPosition}`)).items[0];
    expect(charged.type).toBe("usage");
    expect(micro(charged.amount)).toBeGreaterThan(0n);
    expect(micro((await page.locator("dd.cost").textContent())!)).toBe(micro(charged.amount)); // x-aggregator-cost = the charge
    await screenshot(page, "10-gateway-user");
    const admin = await open(ADMIN, "#/gateway");
    await admin.locator("tbody tr", { hasText: "openrouter" }).first().waitFor();
    await screenshot(admin, "11-gateway-operator");
    await admin.goto(`${server.url}/#/events`);
    await admin.locator(".event summary").first().click(); // the newest, expanded
    await admin.locator(".event pre").first().waitFor();
    await screenshot(admin, "17-events");
    await admin.goto(`${server.url}/#/system`);
    await admin.getByText("caught up").first().waitFor();
    await screenshot(admin, "12-system");
    await admin.goto(`${server.url}/#/accounts`);
    await admin.locator("tbody tr", { hasText: "bob" }).waitFor();
    await admin.getByRole("button", { name: "Reconcile all accounts" }).click();
    await admin.locator(".verdict.ok").waitFor();
    await screenshot(admin, "13-accounts");
    await admin.goto(`${server.url}/#/`);
    await admin.locator(".chart canvas").first().waitFor();
    await screenshot(admin, "03-overview");
    await admin.setViewportSize({ width: 390, height: 844 });
    await admin.reload(); // memory only: a reload signs out
    await admin.locator("#token").fill(ADMIN);
    await admin.getByRole("button", { name: "Sign in" }).click();
    await admin.locator(".chart canvas").first().waitFor();
    await screenshot(admin, "14-overview-phone");
    await admin.goto(`${server.url}/#/accounts/alice`);
    await admin.locator("tbody tr").first().waitFor();
    await screenshot(admin, "15-account-phone");
    for (const s of seen) expect(s.errors).toEqual([]);
  });

  it("after one byte of a copied event store is altered, a console on that copy names the bad event", async () => {
    await api("POST", "/billing/payment/process", { userId: "auditee", amount: "40", method: "wire-auditee" });
    const paid = await api("POST", "/billing/usage/track", {
      userId: "auditee",
      provider: "openai",
      model: "gpt-4o",
      promptTokens: 100,
      completionTokens: 10,
    });
    const trail = await api("GET", "/audit/transactions/auditee");
    const target = trail.items.find((e: Json) => e.type === "payment_processed");
    expect((await api("GET", "/audit/verify/auditee")).ok).toBe(true);
    expect(paid.position).toBeGreaterThan(target.position);

    const copy = mkdtempSync(join(tmpdir(), "console-e2e-tampered-"));
    for (const suffix of ["", "-wal"])
      if (existsSync(join(dataDir, `events.db${suffix}`)))
        copyFileSync(join(dataDir, `events.db${suffix}`), join(copy, `events.db${suffix}`));
    // fold the copied WAL into the file: WAL frames carry checksums, so a byte flipped there would cut the
    // log short instead of altering one event
    await openSqliteEventStore(join(copy, "events.db")).close();
    expect(existsSync(join(copy, "events.db-wal"))).toBe(false);
    const bytes = readFileSync(join(copy, "events.db"));
    const at = bytes.indexOf(Buffer.from('"method":"wire-auditee"'));
    expect(at).toBeGreaterThan(0);
    expect(bytes.indexOf(Buffer.from('"method":"wire-auditee"'), at + 1)).toBe(-1); // exactly one event holds it
    bytes[at + 10] = bytes[at + 10]! ^ 0x20; // "wire-auditee" → "Wire-auditee": one bit of one byte
    writeFileSync(join(copy, "events.db"), bytes);

    const second = await startServer({ DATA_DIR: copy, ADMIN_TOKEN: ADMIN });
    try {
      const page = await open(ADMIN, "#/accounts/auditee", second.url);
      await page.getByRole("button", { name: "Verify hash chain" }).click();
      await page.locator(".verdict.bad").waitFor();
      expect(await page.locator(".verdict").textContent()).toContain("Chain broken");
      expect(await page.locator(".first-bad .event-id").textContent()).toBe(target.eventId);
      expect(await page.locator(".first-bad").textContent()).toContain(`revision ${target.revision}`);
      expect(await page.locator(".first-bad").textContent()).toContain("CHAIN.HASH_MISMATCH");
      await screenshot(page, "16-audit-tampered-copy");
    } finally {
      await second.stop();
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it.skipIf(!mongoUrl || !kafka)(
    "works the same on the production engines: MongoDB read models (FerretDB) and the Kafka relay",
    async () => {
      const suffix = Math.random().toString(36).slice(2, 8);
      const env = {
        DATA_DIR: mkdtempSync(join(tmpdir(), "console-e2e-prod-")),
        ADMIN_TOKEN: ADMIN,
        READ_STORE: "mongo",
        MONGO_URL: mongoUrl!,
        MONGO_DB: `console_e2e_${suffix}`,
        KAFKA_BROKERS: kafka!,
        KAFKA_TOPIC: `console.e2e.${suffix}`,
      };
      const prod = await startServer(env);
      try {
        const paid = await fetch(`${prod.url}/billing/payment/process`, {
          method: "POST",
          headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
          body: JSON.stringify({ userId: "prod-user", amount: "12.34" }),
        });
        expect(paid.status).toBe(201);
        // the page reads the read models as they are: wait until the projector (npm start's child) has the payment
        const { position } = (await paid.json()) as { position: number };
        const projected = await fetch(`${prod.url}/analytics/metrics?minPosition=${position}`, {
          headers: { authorization: `Bearer ${ADMIN}` },
        });
        expect(projected.status).toBe(200);
        const page = await open(ADMIN, "", prod.url);
        await until(page, `document.body.innerText.includes("$12.34")`);
        await page.goto(`${prod.url}/#/system`);
        await until(
          page,
          `document.body.innerText.includes("mongo") && document.body.innerText.includes("topic console.e2e.${suffix}") && document.querySelectorAll(".badge.ok").length >= 4`,
        );
        await screenshot(page, "18-system-production-engines");
        await page.goto(`${prod.url}/#/accounts/prod-user`);
        await page.getByRole("button", { name: "Verify hash chain" }).click();
        await page.locator(".verdict.ok").waitFor();
      } finally {
        await prod.stop();
        const reads = await openMongoReadStore(mongoUrl!, env.MONGO_DB);
        for (const c of await reads.listCollections()) await reads.collection(c).drop();
        await reads.close();
        rmSync(env.DATA_DIR, { recursive: true, force: true });
      }
    },
  );
});
