import { api, call } from "../api.ts";
import { h, onAsync } from "../dom.ts";
import { num, percent, usd } from "../format.ts";
import { hasScope, isAdmin } from "../session.ts";
import { badge, field, pageHeader, problemBox, region, section, table, type Scope, type Tone } from "../ui.ts";

// The gateway: the model catalog with its effective-dated prices, each provider's circuit, error
// rate and latency (operator), and a request sent with the signed-in key, with what it cost.

interface Price {
  from?: string;
  promptPerMillion: string;
  completionPerMillion: string;
}
interface Offer {
  provider: string;
  upstreamId: string;
  contextLength: number;
  maxOutputTokens: number;
  configured: boolean;
  circuit: string;
  prices: Price | null;
  priceHistory: (Price & { from: string })[];
}
interface Catalog {
  version: string;
  models: { id: string; providers: Offer[] }[];
}
interface Provider {
  provider: string;
  configured: boolean;
  models: number;
  circuit: string;
  consecutiveFailures: number;
  retryAfterMs: number;
  recent: { windowSeconds: number; requests: number; failures: number; errorRate: number | null };
  latencyMs: number | null;
}

const CIRCUIT: Record<string, Tone> = { closed: "ok", half_open: "warn", open: "bad" };
const circuit = (state: string) => badge(state.replace("_", "-"), CIRCUIT[state] ?? "neutral");

function tryBox(models: string[]): HTMLElement {
  const model = h("select", { name: "model" }, ...models.map((m) => h("option", { value: m }, m)));
  const prompt = h("textarea", { name: "prompt", rows: "3", required: true }, "Say hello in five words.");
  const maxTokens = h("input", { type: "number", name: "max_tokens", min: "1", max: "4096", value: "64" });
  const out = h("div", { class: "try-result", "aria-live": "polite" });
  const send = h("button", { type: "submit" }, "Send request");
  const form = h(
    "form",
    { class: "try", "aria-label": "Try a request" },
    h("div", { class: "form-row" }, field("Model", model), field("Max tokens", maxTokens)),
    field("Message", prompt),
    send,
  );
  onAsync(form, "submit", async (e) => {
    e.preventDefault();
    send.disabled = true;
    out.replaceChildren(
      h("p", { class: "loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), "Waiting for the provider…"),
    );
    try {
      const res = await call("/v1/chat/completions", {
        method: "POST",
        body: { model: model.value, messages: [{ role: "user", content: prompt.value }], max_tokens: Number(maxTokens.value) },
      });
      const body = (await res.json()) as {
        choices?: { message?: { content?: string } }[];
        usage?: { prompt_tokens: number; completion_tokens: number };
      };
      out.replaceChildren(
        h("div", { class: "answer" }, h("p", { class: "answer-text" }, body.choices?.[0]?.message?.content ?? "(no content)")),
        h(
          "dl",
          { class: "facts inline" },
          h("dt", null, "Cost"),
          h("dd", { class: "cost" }, usd(res.headers.get("x-aggregator-cost"))),
          h("dt", null, "Provider"),
          h("dd", null, res.headers.get("x-aggregator-provider") ?? "—"),
          h("dt", null, "Tokens"),
          h("dd", null, body.usage ? `${num(body.usage.prompt_tokens)} prompt + ${num(body.usage.completion_tokens)} completion` : "—"),
          h("dt", null, "Request id"),
          h("dd", null, h("code", null, res.headers.get("x-aggregator-request-id") ?? "—")),
        ),
      );
    } catch (error) {
      out.replaceChildren(problemBox(error));
    } finally {
      send.disabled = false;
    }
  });
  return h(
    "div",
    null,
    !hasScope("chat") || isAdmin()
      ? h(
          "p",
          { class: "notice" },
          "Requests are charged to an account, so the gateway needs an API key with the chat scope; the admin token is refused (the answer below will say so).",
        )
      : null,
    form,
    out,
  );
}

export function gatewayPage(scope: Scope, _params: string[]): HTMLElement {
  const providers = isAdmin()
    ? region(scope, "provider health", async (signal) => {
        const { providers } = await api<{ providers: Provider[] }>("/orchestrator/providers", { signal });
        return table(
          "Providers",
          [
            { label: "Provider", cell: (p) => h("strong", null, p.provider) },
            { label: "Configured", cell: (p) => (p.configured ? badge("yes", "ok") : badge("no API key", "warn")) },
            { label: "Circuit", cell: (p) => circuit(p.circuit) },
            { label: "Requests (5 min)", cell: (p) => num(p.recent.requests), numeric: true },
            { label: "Error rate", cell: (p) => percent(p.recent.errorRate), numeric: true },
            { label: "Latency (TTFB)", cell: (p) => (p.latencyMs === null ? "—" : `${num(Math.round(p.latencyMs))} ms`), numeric: true },
            { label: "Failures in a row", cell: (p) => num(p.consecutiveFailures), numeric: true },
            { label: "Retry in", cell: (p) => (p.retryAfterMs > 0 ? `${Math.ceil(p.retryAfterMs / 1000)} s` : "—"), numeric: true },
          ],
          providers,
        );
      })
    : null;
  if (providers) {
    const timer = setInterval(() => void providers.refresh(), 5000);
    scope.onDispose(() => clearInterval(timer));
  }
  const tryOut = h("div", null);
  const catalog = region(scope, "the model catalog", async (signal) => {
    const c = await api<Catalog>("/orchestrator/models", { signal });
    tryOut.replaceChildren(tryBox(c.models.map((m) => m.id)));
    const rows = c.models.flatMap((m) => m.providers.map((p) => ({ model: m.id, ...p })));
    return h(
      "div",
      null,
      h(
        "p",
        { class: "muted" },
        `Catalog version ${c.version}. Prices in USD per million tokens; a price applies from its date on, and every charge records the prices it used.`,
      ),
      table(
        "Model catalog",
        [
          { label: "Model", cell: (r) => h("code", { class: "ident" }, r.model) },
          {
            label: "Provider, upstream id",
            cell: (r) => h("div", null, r.provider, h("br"), h("code", { class: "small ident" }, r.upstreamId)),
          },
          { label: "Context", cell: (r) => num(r.contextLength), numeric: true },
          { label: "Prompt / 1M", cell: (r) => usd(r.prices?.promptPerMillion), numeric: true },
          { label: "Completion / 1M", cell: (r) => usd(r.prices?.completionPerMillion), numeric: true },
          {
            label: "Prices from",
            cell: (r) =>
              h(
                "ul",
                { class: "history" },
                ...r.priceHistory.map((p) =>
                  h("li", { class: "nowrap" }, `${p.from.slice(0, 10)}: ${usd(p.promptPerMillion)} / ${usd(p.completionPerMillion)}`),
                ),
              ),
          },
          // one column: an unconfigured provider has no circuit worth showing
          { label: "Circuit", cell: (r) => (r.configured ? circuit(r.circuit) : badge("not configured", "neutral")) },
        ],
        rows,
      ),
    );
  });
  return h(
    "div",
    { class: "page" },
    pageHeader("Gateway", "Models, prices and provider health; try a request with your key"),
    providers ? section("Provider health (this instance)", providers.el) : null,
    section("Try a request", tryOut),
    section("Model catalog", catalog.el),
  );
}
