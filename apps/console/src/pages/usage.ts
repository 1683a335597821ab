import { api, seg } from "../api.ts";
import { TimeChart } from "../chart.ts";
import { reportCsv } from "../csv.ts";
import { h, route } from "../dom.ts";
import { num, usd, usdNumber } from "../format.ts";
import { isAdmin, ownUserId } from "../session.ts";
import { empty, field, ident, pageHeader, region, section, stat, stats, table, type Scope } from "../ui.ts";
import { dayStarts, type Report } from "./user-overview.ts";

// Usage report of one account by day × model × provider over a date range, with charts and the same
// rows as CSV (built from the very report shown, so the download equals the table).

const today = () => new Date().toISOString().slice(0, 10);
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

function download(name: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const a = h("a", { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function usagePage(scope: Scope, params: string[]): HTMLElement {
  const userId = params[0] ?? ownUserId();
  const user = h("input", {
    name: "userId",
    autocomplete: "off",
    required: true,
    maxlength: "128",
    value: userId ?? "",
    placeholder: "alice",
  });
  const from = h("input", { type: "date", name: "from", value: daysAgo(29), required: true });
  const to = h("input", { type: "date", name: "to", value: today(), required: true });
  const cost = new TimeChart("Cost per day (USD)", { left: (v) => `$${v.toLocaleString("en-US", { maximumFractionDigits: 4 })}` });
  const tokens = new TimeChart("Tokens per day by model", { left: (v) => num(v) });
  scope.onDispose(() => (cost.destroy(), tokens.destroy()));

  const report = region(scope, "the usage report", async (signal) => {
    if (!userId) return empty("Choose an account", "Type a user id above to see its usage by day, model and provider.");
    const r = await api<Report>(`/billing/report/${seg(userId)}`, { query: { from: from.value, to: to.value }, signal });
    const xs = dayStarts(r.from, r.to);
    const dayOf = (x: number) => new Date(x * 1000).toISOString().slice(0, 10);
    const byDay = new Map(r.byDay.map((d) => [d.day, d]));
    cost.set(xs, [{ label: "Cost", values: xs.map((x) => usdNumber(byDay.get(dayOf(x))?.cost ?? "0")), bars: true }]);
    const models = r.byModel.slice(0, 6);
    tokens.set(
      xs,
      models.map((m) => ({
        label: `${m.model} (${m.provider})`,
        values: xs.map((x) => r.daily.find((d) => d.day === dayOf(x) && d.model === m.model && d.provider === m.provider)?.tokens ?? 0),
      })),
    );
    const csv = h("button", { type: "button", class: "secondary", disabled: r.daily.length === 0 }, "Download CSV");
    csv.addEventListener("click", () => download(`usage-${r.userId}-${r.from}-${r.to}.csv`, reportCsv(r.daily)));
    return h(
      "div",
      null,
      stats(
        stat("Cost", usd(r.totals.cost)),
        stat("Requests", num(r.totals.requests)),
        stat("Prompt tokens", num(r.totals.promptTokens)),
        stat("Completion tokens", num(r.totals.completionTokens)),
      ),
      h("div", { class: "charts" }, cost.el, tokens.el),
      section(
        "By day, model and provider",
        h("div", { class: "section-actions" }, csv),
        table(
          `Usage of ${r.userId} from ${r.from} to ${r.to}`,
          [
            { label: "Day", cell: (d) => d.day },
            { label: "Provider", cell: (d) => d.provider },
            { label: "Model", cell: (d) => ident(d.model) },
            { label: "Requests", cell: (d) => num(d.requests), numeric: true },
            { label: "Prompt tokens", cell: (d) => num(d.promptTokens), numeric: true },
            { label: "Completion tokens", cell: (d) => num(d.completionTokens), numeric: true },
            { label: "Cost", cell: (d) => usd(d.cost), numeric: true },
          ],
          r.daily,
          "No usage in this range.",
        ),
      ),
    );
  });

  const form = h(
    "form",
    { class: "toolbar", "aria-label": "Report" },
    isAdmin() ? field("User id", user) : null,
    field("From", from),
    field("To", to),
    h("button", { type: "submit" }, "Show report"),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const wanted = isAdmin() ? user.value.trim() : userId;
    if (wanted && wanted !== userId) location.hash = route("usage", wanted);
    else void report.refresh();
  });

  return h(
    "div",
    { class: "page" },
    pageHeader("Usage", userId ? ["Account ", h("strong", null, userId)] : "Usage by day, model and provider"),
    form,
    report.el,
  );
}
