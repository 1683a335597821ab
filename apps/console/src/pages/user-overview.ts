import { api, seg } from "../api.ts";
import { TimeChart } from "../chart.ts";
import { h, route } from "../dom.ts";
import { num, usd, usdNumber, when } from "../format.ts";
import { watchChanges } from "../live.ts";
import { ident, liveStatus, pageHeader, region, section, showLive, stat, stats, table, type Scope } from "../ui.ts";
import { userGettingStarted } from "./start.ts";

// A user's overview (an API key): their balance and their last 30 days of usage. Everything comes from
// the routes their key may call; the key's scopes decide, not this page.

export interface Balance {
  userId: string;
  balance: string;
  held: string;
  available: string;
  updatedAt: string;
  position: number;
}
interface UsageRow {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  tokens: number;
  cost: string;
}
export interface Report {
  userId: string;
  from: string;
  to: string;
  totals: UsageRow;
  byDay: (UsageRow & { day: string })[];
  byModel: (UsageRow & { provider: string; model: string })[];
  daily: (UsageRow & { day: string; provider: string; model: string })[];
}

export const dayStarts = (from: string, to: string) => {
  const xs: number[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) xs.push(t / 1000);
  return xs;
};

export function userOverview(scope: Scope, userId: string): HTMLElement {
  const status = liveStatus();
  const chart = new TimeChart("Your spend per day (USD)", { left: (v) => `$${v.toLocaleString("en-US", { maximumFractionDigits: 4 })}` });
  scope.onDispose(() => chart.destroy());

  const balance = region(scope, "your balance", async (signal) => {
    const b = await api<Balance>(`/billing/balance/${seg(userId)}`, { signal });
    return stats(
      stat("Balance", usd(b.balance)),
      stat("Held", usd(b.held), "for requests in flight"),
      stat("Available", usd(b.available)),
      stat("Updated", when(b.updatedAt)),
    );
  });
  const usage = region(scope, "your usage", async (signal) => {
    const r = await api<Report>(`/billing/report/${seg(userId)}`, { signal });
    const byDay = new Map(r.byDay.map((d) => [d.day, d]));
    const xs = dayStarts(r.from, r.to);
    chart.set(xs, [
      {
        label: "Spend",
        values: xs.map((x) => usdNumber(byDay.get(new Date(x * 1000).toISOString().slice(0, 10))?.cost ?? "0")),
        bars: true,
      },
    ]);
    if (r.totals.requests === 0) return userGettingStarted();
    return h(
      "div",
      null,
      stats(stat("Spend, 30 days", usd(r.totals.cost)), stat("Requests", num(r.totals.requests)), stat("Tokens", num(r.totals.tokens))),
      h("div", { class: "charts" }, chart.el),
      section(
        "By model",
        table(
          "Your usage by model over 30 days",
          [
            { label: "Model", cell: (m) => ident(m.model) },
            { label: "Provider", cell: (m) => m.provider },
            { label: "Requests", cell: (m) => num(m.requests), numeric: true },
            { label: "Tokens", cell: (m) => num(m.tokens), numeric: true },
            { label: "Cost", cell: (m) => usd(m.cost), numeric: true },
          ],
          r.byModel,
        ),
      ),
    );
  });
  scope.onDispose(watchChanges(() => void Promise.all([balance.refresh(), usage.refresh()]), showLive(status)));
  return h(
    "div",
    { class: "page" },
    pageHeader(
      "Overview",
      ["Account ", h("strong", null, userId)],
      h("a", { href: route("accounts", userId), class: "button secondary" }, "Transactions and audit"),
    ),
    status,
    balance.el,
    usage.el,
  );
}
