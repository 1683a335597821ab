import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

// Test helper: Debian's Chromium driven by playwright-core (no browser download), each run in a
// fresh profile, offline apart from the server under test. Screenshots go to the git-ignored
// .screenshots/ at the repository root.

export const SCREENSHOTS = resolve(import.meta.dirname, "../../.screenshots");

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

export async function launchBrowser(executablePath: string, options: { downloads?: boolean } = {}) {
  const profile = mkdtempSync(join(tmpdir(), "console-chromium-"));
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
    acceptDownloads: options.downloads ?? true,
    locale: "en-US",
    timezoneId: "UTC",
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** what ran in the page that should not have: page errors and console lines (the payloads log) */
export function watchPage(page: Page) {
  const errors: string[] = [];
  const logs: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.setDefaultTimeout(20_000);
  return { errors, logs };
}

export async function signIn(page: Page, baseUrl: string, token: string, hash = "") {
  await page.goto(`${baseUrl}/${hash}`);
  await page.locator("#token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("nav.menu").waitFor();
}

export async function screenshot(page: Page, name: string) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.evaluate("document.activeElement && document.activeElement.blur()");
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
