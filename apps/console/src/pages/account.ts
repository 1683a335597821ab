import { api, seg } from "../api.ts";
import { h, route } from "../dom.ts";
import { num, toUtcInput, usd, utcInput, when } from "../format.ts";
import { watchChanges } from "../live.ts";
import { isAdmin } from "../session.ts";
import { badge, field, liveStatus, pageHeader, region, section, showLive, stat, stats, table, type Scope, type Tone } from "../ui.ts";
import { auditJsonView, type AccountAudit } from "./audit-view.ts";
import type { Balance } from "./user-overview.ts";

// One account: balance, held and available; its history with paging; its balance at any instant
// (folded from the events); the verification of its hash chain and read model.

interface Transaction {
  transactionId: string;
  type: string;
  amount: string;
  balanceAfter: string;
  timestamp: string;
  metadata: Record<string, string>;
  position: number;
}
interface History {
  items: Transaction[];
  nextCursor: string | null;
}
interface AsOf {
  balance: string;
  asOf: string;
  transactions: number;
  position: number;
}

const TONE: Record<string, Tone> = { payment: "ok", credit: "ok", refund: "warn", usage: "info", debit: "warn", adjustment: "neutral" };
const details = (m: Record<string, string>) =>
  Object.entries(m)
    .slice(0, 3)
    .map(([k, v]) => `${k}: ${v}`)
    .join(" · ");

export function accountPage(scope: Scope, userId: string): HTMLElement {
  const status = liveStatus();
  const cursors: (string | undefined)[] = [undefined];
  let minPosition: number | undefined;
  const path = (base: string) => `${base}/${seg(userId)}`;

  const balance = region(scope, "the balance", async (signal) => {
    const b = await api<Balance>(path("/billing/balance"), { query: { minPosition }, signal });
    return stats(
      stat("Balance", usd(b.balance)),
      stat("Held", usd(b.held), "gateway holds in flight"),
      stat("Available", usd(b.available)),
      stat("Last change", when(b.updatedAt), `position ${num(b.position)}`),
    );
  });

  const history = region(scope, "the transactions", async (signal) => {
    const page = await api<History>(path("/billing/transactions"), { query: { limit: 20, cursor: cursors.at(-1), minPosition }, signal });
    const newer = h(
      "button",
      { type: "button", class: "secondary", disabled: cursors.length === 1, onclick: () => (cursors.pop(), void history.refresh()) },
      "← Newer",
    );
    const older = h(
      "button",
      {
        type: "button",
        class: "secondary",
        disabled: !page.nextCursor,
        onclick: () => (cursors.push(page.nextCursor!), void history.refresh()),
      },
      "Older →",
    );
    return h(
      "div",
      null,
      table(
        `Transactions of ${userId}, newest first`,
        [
          { label: "Time", cell: (t) => when(t.timestamp), nowrap: true },
          { label: "Type", cell: (t) => badge(t.type, TONE[t.type] ?? "neutral") },
          { label: "Amount", cell: (t) => h("span", { class: t.amount.startsWith("-") ? "neg" : "pos" }, usd(t.amount)), numeric: true },
          { label: "Balance after", cell: (t) => usd(t.balanceAfter), numeric: true },
          { label: "Details", cell: (t) => h("span", { class: "muted small" }, details(t.metadata)) },
          { label: "Transaction", cell: (t) => h("code", { class: "small ident" }, t.transactionId) },
          { label: "Position", cell: (t) => num(t.position), numeric: true },
        ],
        page.items,
        "No transactions yet.",
      ),
      h("div", { class: "pager" }, newer, h("span", { class: "muted small" }, `Page ${cursors.length}`), older),
    );
  });

  const at = h("input", { type: "datetime-local", name: "asOf", step: "1", required: true, value: toUtcInput(new Date().toISOString()) });
  const asOfOut = h("div", { class: "as-of-result", "aria-live": "polite" });
  const asOfForm = h(
    "form",
    { class: "toolbar", "aria-label": "Balance at a point in time" },
    field("Instant (UTC)", at),
    h("button", { type: "submit" }, "Show balance"),
  );
  asOfForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const instant = utcInput(at.value);
    const r = region(scope, "the balance at that instant", async (signal) => {
      const b = await api<AsOf>(path("/billing/balance"), { query: { asOf: instant }, signal });
      return h(
        "p",
        { class: "as-of" },
        "At ",
        h("strong", null, when(b.asOf)),
        " the balance was ",
        h("strong", { class: "as-of-balance" }, usd(b.balance)),
        ` (${num(b.transactions)} transactions, up to position ${num(b.position)}).`,
      );
    });
    asOfOut.replaceChildren(r.el);
  });

  const verifyOut = h("div", null);
  const verify = h("button", { type: "button" }, "Verify hash chain");
  verify.addEventListener("click", () => {
    const r = region(scope, "the verification", async (signal) =>
      auditJsonView(await api<AccountAudit>(path("/audit/verify"), { signal })),
    );
    verifyOut.replaceChildren(r.el);
  });

  scope.onDispose(
    watchChanges(
      (position) => {
        minPosition = position;
        void balance.refresh();
        if (cursors.length === 1) void history.refresh(); // an older page stays where the reader is
      },
      showLive(status),
      { userId },
    ),
  );

  return h(
    "div",
    { class: "page" },
    isAdmin() ? h("p", { class: "crumbs" }, h("a", { href: route("accounts") }, "← All accounts")) : null,
    pageHeader(`Account ${userId}`, status, h("a", { href: route("usage", userId), class: "button secondary" }, "Usage report")),
    balance.el,
    h(
      "div",
      { class: "stack" },
      section(
        "Balance at a point in time",
        h("p", { class: "muted" }, "Folded from the account's events up to that instant, not from the read model."),
        asOfForm,
        asOfOut,
      ),
      section(
        "Audit",
        h(
          "p",
          { class: "muted" },
          "Recomputes every event's hash and the link to the one before it, and compares the balance read model with the events.",
        ),
        verify,
        verifyOut,
      ),
    ),
    section("Transactions", history.el),
  );
}
