import { api } from "../api.ts";
import { TimeChart } from "../chart.ts";
import { h, route } from "../dom.ts";
import { num, percent, usd, usdNumber, utcInput, toUtcInput } from "../format.ts";
import { watchChanges } from "../live.ts";
import { isAdmin, ownUserId } from "../session.ts";
import {
  field,
  groupTitle,
  ident,
  liveStatus,
  meter,
  showLive,
  pageHeader,
  region,
  section,
  stat,
  stats,
  table,
  type Scope,
} from "../ui.ts";
import { gettingStarted } from "./start.ts";
import { userOverview } from "./user-overview.ts";

// The operator's overview: revenue, payments, refunds, requests, tokens and active users per hour or
// day over a chosen range, top models and providers, all-time totals; refreshed on every new event.

interface Bucket {
  start: string;
  requests: number;
  tokens: number;
  cost: string;
  payments: string;
  refunds: string;
  activeUsers: number;
}
interface Dashboard {
  from: string;
  to: string;
  buckets: Bucket[];
  totals: Omit<Bucket, "start">;
  topModels: { model: string; requests: number; tokens: number; cost: string }[];
  topProviders: { provider: string; requests: number; tokens: number }[];
}
interface Metrics {
  accounts: number;
  requests: number;
  tokens: number;
  revenue: string;
  payments: string;
  refunds: string;
  events: number;
}

const RANGES = { "24h": 24, "7d": 7 * 24, "30d": 30 * 24 } as Record<string, number>;

/** every bucket start from `from` to `to` (unix seconds), so quiet hours show as zero, not as a gap */
export function bucketStarts(from: string, to: string, step: number): number[] {
  const first = Math.floor(Date.parse(from) / 1000 / step) * step;
  const last = Math.floor(Date.parse(to) / 1000 / step) * step;
  const xs: number[] = [];
  for (let x = first; x <= last && xs.length < 5000; x += step) xs.push(x);
  return xs;
}

export function overviewPage(scope: Scope, _params: string[]): HTMLElement {
  const user = ownUserId();
  if (!isAdmin() && user) return userOverview(scope, user);

  const granularity = h(
    "select",
    { name: "granularity" },
    h("option", { value: "hour" }, "Per hour"),
    h("option", { value: "day" }, "Per day"),
  );
  const range = h(
    "select",
    { name: "range" },
    h("option", { value: "24h" }, "Last 24 hours"),
    h("option", { value: "7d" }, "Last 7 days"),
    h("option", { value: "30d" }, "Last 30 days"),
    h("option", { value: "custom" }, "Custom (UTC)"),
  );
  const from = h("input", { type: "datetime-local", name: "from" });
  const to = h("input", { type: "datetime-local", name: "to" });
  const custom = h("div", { class: "custom-range", hidden: true }, field("From (UTC)", from), field("To (UTC)", to));
  const status = liveStatus();
  let minPosition: number | undefined;

  const money = new TimeChart("Revenue, payments and refunds (USD)", {
    left: (v) => `$${v.toLocaleString("en-US", { maximumFractionDigits: 2 })}`,
  });
  const traffic = new TimeChart("Requests, active users and tokens", { left: (v) => num(v), right: (v) => num(v) });
  scope.onDispose(() => (money.destroy(), traffic.destroy()));

  function window(): { from: string; to: string } {
    if (range.value !== "custom") {
      const end = new Date();
      return { from: new Date(end.getTime() - RANGES[range.value]! * 3_600_000).toISOString(), to: end.toISOString() };
    }
    return {
      from: from.value ? utcInput(from.value) : new Date(Date.now() - 86_400_000).toISOString(),
      to: to.value ? utcInput(to.value) : new Date().toISOString(),
    };
  }

  const totals = region(scope, "all-time totals", async (signal) => {
    const m = await api<Metrics>("/analytics/metrics", { query: { minPosition }, signal });
    if (m.events === 0) return gettingStarted();
    return h(
      "div",
      null,
      groupTitle("All time"),
      stats(
        stat("Accounts", num(m.accounts)),
        stat("Events", num(m.events)),
        stat("Revenue", usd(m.revenue)),
        stat("Payments", usd(m.payments)),
        stat("Refunds", usd(m.refunds)),
        stat("Requests", num(m.requests)),
      ),
    );
  });

  const dashboard = region(scope, "the dashboard", async (signal) => {
    const d = await api<Dashboard>("/analytics/dashboard", {
      query: { granularity: granularity.value, ...window(), top: 5, minPosition },
      signal,
    });
    const step = granularity.value === "hour" ? 3600 : 86400;
    const xs = bucketStarts(d.from, d.to, step);
    const byStart = new Map(d.buckets.map((b) => [Math.floor(Date.parse(b.start) / 1000), b]));
    const col = (f: (b: Bucket) => number) =>
      xs.map((x) => {
        const b = byStart.get(x);
        return b ? f(b) : 0;
      });
    money.set(xs, [
      { label: "Revenue (usage)", values: col((b) => usdNumber(b.cost)) },
      { label: "Payments", values: col((b) => usdNumber(b.payments)) },
      { label: "Refunds", values: col((b) => usdNumber(b.refunds)) },
    ]);
    traffic.set(xs, [
      { label: "Requests", values: col((b) => b.requests), bars: true },
      { label: "Active users", values: col((b) => b.activeUsers) },
      { label: "Tokens", values: col((b) => b.tokens), axis: "right" },
    ]);
    const t = d.totals;
    const share = (n: number) => (t.requests > 0 ? meter(n / t.requests, `${percent(n / t.requests)} of requests`) : null);
    return h(
      "div",
      null,
      groupTitle(`${range.selectedOptions[0]?.textContent ?? ""}, ${granularity.value === "hour" ? "per hour" : "per day"}`),
      stats(
        stat("Revenue", usd(t.cost), "usage charged"),
        stat("Payments", usd(t.payments)),
        stat("Refunds", usd(t.refunds)),
        stat("Requests", num(t.requests)),
        stat("Tokens", num(t.tokens)),
        stat("Active users", num(t.activeUsers)),
      ),
      h("div", { class: "charts" }, money.el, traffic.el),
      h(
        "div",
        { class: "split" },
        section(
          "Top models",
          table(
            "Top models in this range",
            [
              { label: "Model", cell: (m) => ident(m.model) },
              { label: "Requests", cell: (m) => num(m.requests), numeric: true },
              { label: "Tokens", cell: (m) => num(m.tokens), numeric: true },
              { label: "Revenue", cell: (m) => usd(m.cost), numeric: true },
            ],
            d.topModels,
            "No requests in this range.",
          ),
        ),
        section(
          "Top providers",
          table(
            "Top providers in this range",
            [
              { label: "Provider", cell: (p) => p.provider },
              { label: "Requests", cell: (p) => num(p.requests), numeric: true },
              { label: "Tokens", cell: (p) => num(p.tokens), numeric: true },
              { label: "Share", cell: (p) => share(p.requests) },
            ],
            d.topProviders,
            "No requests in this range.",
          ),
        ),
      ),
    );
  });

  const refresh = () => void Promise.all([totals.refresh(), dashboard.refresh()]);
  granularity.addEventListener("change", refresh);
  range.addEventListener("change", () => {
    custom.hidden = range.value !== "custom";
    if (range.value === "custom" && !from.value) {
      from.value = toUtcInput(new Date(Date.now() - 86_400_000).toISOString());
      to.value = toUtcInput(new Date().toISOString());
    }
    refresh();
  });
  from.addEventListener("change", refresh);
  to.addEventListener("change", refresh);
  scope.onDispose(
    watchChanges((position) => {
      minPosition = position;
      refresh();
    }, showLive(status)),
  );

  return h(
    "div",
    { class: "page" },
    pageHeader(
      "Overview",
      "Revenue, traffic and users across every account",
      h("a", { href: route("accounts"), class: "button secondary" }, "Accounts"),
    ),
    h(
      "form",
      { class: "toolbar", "aria-label": "Range", onsubmit: (e) => e.preventDefault() },
      field("Buckets", granularity),
      field("Range", range),
      custom,
      status,
    ),
    totals.el,
    dashboard.el,
  );
}
