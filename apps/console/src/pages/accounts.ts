import { api } from "../api.ts";
import { h } from "../dom.ts";
import { num, usd, when } from "../format.ts";
import { watchChanges } from "../live.ts";
import { isAdmin, ownUserId } from "../session.ts";
import { accountLink, badge, empty, field, liveStatus, pageHeader, region, section, showLive, table, type Scope } from "../ui.ts";
import { accountPage } from "./account.ts";
import { auditJsonView, type AccountAudit } from "./audit-view.ts";

// Accounts: the operator searches every account (prefix of the user id, over the balances read
// model) and reconciles them all; a user's key goes straight to its own account.

interface Account {
  userId: string;
  balance: string;
  held: string;
  available: string;
  transactions: number;
  updatedAt: string;
}
interface Page {
  items: Account[];
  total: number;
  nextCursor: string | null;
}
interface Reconciliation {
  ok: boolean;
  accounts: number;
  events: number;
  headPosition: number;
  lagging: number;
  mismatches: AccountAudit[];
}

export function accountsPage(scope: Scope, params: string[]): HTMLElement {
  const [userId] = params;
  if (userId !== undefined) return accountPage(scope, userId);
  const own = ownUserId();
  if (!isAdmin() && own) return accountPage(scope, own);

  const prefix = h("input", { type: "search", name: "prefix", placeholder: "e.g. acme-", autocomplete: "off", maxlength: "128" });
  const status = liveStatus();
  const cursors: (string | undefined)[] = [undefined]; // the cursor of each page seen, for "Previous"
  let minPosition: number | undefined;

  const list = region(scope, "accounts", async (signal) => {
    const page = await api<Page>("/billing/accounts", {
      query: { prefix: prefix.value.trim(), cursor: cursors.at(-1), limit: 25, minPosition },
      signal,
    });
    if (page.total === 0) {
      return prefix.value.trim()
        ? empty("No account matches", `No user id starts with “${prefix.value.trim()}”.`)
        : empty("No accounts yet", "An account appears with its first payment or usage. See Overview for how to get started.");
    }
    const previous = h(
      "button",
      { type: "button", class: "secondary", disabled: cursors.length === 1, onclick: () => (cursors.pop(), void list.refresh()) },
      "← Previous",
    );
    const next = h(
      "button",
      {
        type: "button",
        class: "secondary",
        disabled: !page.nextCursor,
        onclick: () => (cursors.push(page.nextCursor!), void list.refresh()),
      },
      "Next →",
    );
    return h(
      "div",
      null,
      h("p", { class: "muted" }, `${num(page.total)} account${page.total === 1 ? "" : "s"}${prefix.value.trim() ? " match" : ""}.`),
      table(
        "Accounts",
        [
          { label: "User", cell: (a) => accountLink(a.userId) },
          { label: "Balance", cell: (a) => usd(a.balance), numeric: true },
          { label: "Held", cell: (a) => usd(a.held), numeric: true },
          { label: "Available", cell: (a) => usd(a.available), numeric: true },
          { label: "Transactions", cell: (a) => num(a.transactions), numeric: true },
          { label: "Last change", cell: (a) => when(a.updatedAt), nowrap: true },
        ],
        page.items,
      ),
      h("div", { class: "pager" }, previous, next),
    );
  });

  const reconcileOut = h("div", { class: "region" });
  const reconcile = h("button", { type: "button", class: "secondary" }, "Reconcile all accounts");
  reconcile.addEventListener("click", () => {
    reconcileOut.replaceChildren();
    const result = region(scope, "the reconciliation of every account", async (signal) => {
      const r = await api<Reconciliation>("/audit/reconcile", { signal });
      const summary = `${num(r.accounts)} accounts, ${num(r.events)} account events up to position ${num(r.headPosition)}${r.lagging ? `; ${r.lagging} still being projected` : ""}.`;
      if (r.ok)
        return h(
          "div",
          { class: "verdict ok", role: "status" },
          badge("Reconciled", "ok"),
          h("p", null, `Every balance read model equals the fold of its account's events, and every hash chain holds: ${summary}`),
        );
      return h(
        "div",
        { class: "verdict bad", role: "alert" },
        badge(`${r.mismatches.length} account(s) do not reconcile`, "bad"),
        h("p", null, summary),
        ...r.mismatches.map(auditJsonView),
      );
    });
    reconcileOut.append(section("Reconciliation", result.el));
  });

  let typing: ReturnType<typeof setTimeout> | undefined;
  const search = () => {
    cursors.splice(1);
    void list.refresh();
  };
  prefix.addEventListener("input", () => (clearTimeout(typing), (typing = setTimeout(search, 250))));
  scope.onDispose(watchChanges((position) => ((minPosition = position), void list.refresh()), showLive(status)));

  return h(
    "div",
    { class: "page" },
    pageHeader("Accounts", "Balances from the read model; each account's page checks them against its events", reconcile),
    h(
      "form",
      { class: "toolbar", role: "search", onsubmit: (e) => (e.preventDefault(), search()) },
      field("User id starts with", prefix),
      h("button", { type: "submit" }, "Search"),
      status,
    ),
    reconcileOut,
    list.el,
  );
}
