import { ApiError } from "./api.ts";
import { fill, h, onAsync, route, type Child } from "./dom.ts";

// Building blocks shared by the pages: page lifetime, regions that load, designed loading / empty /
// error states (a refusal shows the API's problem `detail`, never a stack trace), tables, dialogs.

/** What a page started (timers, streams, requests, charts); disposed when the user leaves the page. */
export class Scope {
  private readonly disposers: (() => void)[] = [];
  onDispose(fn: () => void): void {
    this.disposers.push(fn);
  }
  dispose(): void {
    for (const fn of this.disposers.splice(0)) fn();
  }
}

export const loading = (what: string) =>
  h("p", { class: "loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), `Loading ${what}…`);

const TITLES: Record<number, string> = {
  0: "The server is unreachable",
  400: "The request was refused",
  401: "Not signed in",
  403: "Not allowed",
  404: "Not found",
  409: "Conflict",
  422: "Not possible",
  503: "Not ready yet",
};

export function problemBox(error: unknown): HTMLElement {
  const e = error instanceof ApiError ? error : new ApiError(-1, "CONSOLE", error instanceof Error ? error.message : String(error));
  const title = TITLES[e.status] ?? (e.status >= 500 ? "The server failed" : "Something went wrong");
  return h(
    "div",
    { class: "problem", role: "alert" },
    h("strong", null, title),
    h("p", null, e.detail),
    e.status > 0 ? h("p", { class: "code" }, `${e.code} · HTTP ${e.status}`) : null,
  );
}

export const empty = (title: string, ...body: Child[]) =>
  h("div", { class: "empty" }, h("strong", null, title), ...body.map((b) => (typeof b === "string" ? h("p", null, b) : b)));

let settling = 0;
/** User Timing mark `console:ready`: the view is drawn and every part of it has its first answer (bench, RUM) */
export const markReady = () => performance.mark("console:ready");
const settled = () => --settling === 0 && markReady();

/**
 * A part of a page that loads from the API. `refresh` keeps what is shown until the new answer is
 * there (live updates do not flicker); a newer refresh supersedes an older one still running.
 */
export function region(scope: Scope, what: string, load: (signal: AbortSignal) => Promise<Child>) {
  const el = h("div", { class: "region" }, loading(what));
  let current: AbortController | null = null;
  scope.onDispose(() => current?.abort());
  async function refresh(): Promise<void> {
    current?.abort();
    const mine = (current = new AbortController());
    el.setAttribute("aria-busy", "true");
    try {
      const content = await load(mine.signal);
      if (!mine.signal.aborted) fill(el, content);
    } catch (error) {
      if (!mine.signal.aborted) fill(el, problemBox(error));
    } finally {
      if (current === mine) el.removeAttribute("aria-busy");
    }
  }
  settling++;
  void refresh().finally(settled);
  return { el, refresh };
}

export const pageHeader = (title: string, sub?: Child, ...actions: Child[]) =>
  h(
    "header",
    { class: "page-header" },
    h("div", null, h("h1", { tabindex: "-1" }, title), sub ? h("p", { class: "sub" }, sub) : null),
    actions.length ? h("div", { class: "actions" }, ...actions) : null,
  );

export const section = (title: string, ...children: Child[]) => h("section", { class: "card" }, h("h2", null, title), ...children);

export const stat = (label: string, value: Child, hint?: Child) =>
  h(
    "div",
    { class: "stat" },
    h("span", { class: "stat-label" }, label),
    h("span", { class: typeof value === "string" && value.length > 14 ? "stat-value long" : "stat-value" }, value),
    hint ? h("span", { class: "stat-hint" }, hint) : null,
  );

export const groupTitle = (text: string) => h("h2", { class: "group-title" }, text);

export const stats = (...items: HTMLElement[]) => h("div", { class: "stats" }, ...items);

export type Tone = "ok" | "bad" | "warn" | "info" | "neutral";
export const badge = (text: string, tone: Tone = "neutral") => h("span", { class: `badge ${tone}` }, text);

export interface Column<T> {
  label: string;
  cell: (row: T) => Child;
  numeric?: boolean;
  /** keep on one line (times) */
  nowrap?: boolean;
}

/** a user-controlled identifier (model id, user id, key name): code that may break anywhere */
export const ident = (text: string) => h("code", { class: "ident" }, text);

export function table<T>(caption: string, columns: Column<T>[], rows: T[], emptyText = "Nothing here yet."): HTMLElement {
  if (rows.length === 0) return h("p", { class: "empty-note" }, emptyText);
  return h(
    "div",
    { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption },
    h(
      "table",
      null,
      h("caption", { class: "sr-only" }, caption),
      h("thead", null, h("tr", null, ...columns.map((c) => h("th", { scope: "col", class: c.numeric ? "num" : null }, c.label)))),
      h(
        "tbody",
        null,
        ...rows.map((row) =>
          h(
            "tr",
            null,
            ...columns.map((c) =>
              h(
                "td",
                { class: [c.numeric ? "num" : "", c.nowrap ? "nowrap" : ""].join(" ").trim() || null, "data-label": c.label },
                c.cell(row),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

/** a modal question; Escape or Cancel answers false */
export function confirmDialog(title: string, message: Child, confirmLabel: string): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "dialog", "aria-labelledby": "dialog-title" });
    const close = (answer: boolean) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    fill(
      dialog,
      h("h2", { id: "dialog-title" }, title),
      h("div", null, message),
      h(
        "div",
        { class: "dialog-actions" },
        h("button", { type: "button", class: "secondary", onclick: () => close(false) }, "Cancel"),
        h("button", { type: "button", class: "danger", onclick: () => close(true) }, confirmLabel),
      ),
    );
    dialog.addEventListener("cancel", (e) => (e.preventDefault(), close(false)));
    document.body.append(dialog);
    dialog.showModal();
  });
}

export function copyButton(text: string, label = "Copy"): HTMLButtonElement {
  const button = h("button", { type: "button", class: "secondary" }, label);
  onAsync(button, "click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Select and copy by hand";
    }
    setTimeout(() => (button.textContent = label), 2000);
  });
  return button;
}

let hints = 0;
/** a labelled form field: the label wraps the control (its accessible name); a hint describes it */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  const labelled = h("label", null, h("span", null, label), control);
  if (!hint) return h("div", { class: "field" }, labelled);
  const id = `hint-${++hints}`;
  control.setAttribute("aria-describedby", id);
  return h("div", { class: "field" }, labelled, h("small", { id }, hint));
}

/** a live status line (announced politely to screen readers) */
export const liveStatus = () => h("p", { class: "live-status", role: "status", "aria-live": "polite" });

const LIVE_TEXT = {
  live: "● Live: updates as events arrive",
  polling: "Refreshes every 5 seconds",
  reconnecting: "Reconnecting to the event log…",
  refused: "No live updates: the event log refused this view's request",
};
/** shows the state of watchChanges in a liveStatus line */
export const showLive = (el: HTMLElement) => (state: keyof typeof LIVE_TEXT) => {
  el.textContent = LIVE_TEXT[state];
  el.classList.toggle("on", state === "live");
};

/** a horizontal bar for a share (its width set through CSSOM, which the CSP allows) */
export function meter(fraction: number, label: string): HTMLElement {
  const bar = h("span", { class: "meter-fill" });
  bar.style.width = `${Math.round(Math.min(1, Math.max(0, fraction)) * 100)}%`;
  return h("span", { class: "meter", role: "img", "aria-label": label }, bar);
}

export const accountLink = (userId: string) => h("a", { href: route("accounts", userId) }, userId);
