import { api, seg } from "../api.ts";
import { h, onAsync } from "../dom.ts";
import { num, usd, when } from "../format.ts";
import { currentUser, isAdmin } from "../session.ts";
import { badge, confirmDialog, copyButton, field, pageHeader, problemBox, region, section, table, type Scope } from "../ui.ts";

// API keys: list (never secrets), create with scopes and limits (the secret is shown once, here, with
// a copy button), revoke after a confirmation. A user's key sees and mints its own keys only, and
// the API narrows what it may grant; this page only shows what the API answers.

interface Key {
  id: string;
  prefix: string;
  name: string;
  userId: string;
  scopes: string[];
  limits: { requestsPerMinute?: number; tokensPerMinute?: number; budget?: number | string };
  status: "active" | "revoked";
  createdAt: string;
  revokedAt?: string;
}

const SCOPES = [
  ["chat", "call the gateway (/v1)"],
  ["billing:read", "read its balance, history, usage and audit"],
  ["keys", "create and revoke its user's keys"],
  ["analytics:write", "record analytics events"],
] as const;

/** a budget arrives as decimal USD (or, from older servers, integer micro-USD) */
const budget = (b: number | string) => usd(typeof b === "number" ? (b / 1_000_000).toFixed(6) : b);
const limitsText = (l: Key["limits"]) =>
  [
    l.requestsPerMinute ? `${num(l.requestsPerMinute)} req/min` : "",
    l.tokensPerMinute ? `${num(l.tokensPerMinute)} tokens/min` : "",
    l.budget !== undefined ? `budget ${budget(l.budget)}` : "",
  ]
    .filter(Boolean)
    .join(" · ") || "none";
const optionalNumber = (input: HTMLInputElement) => (input.value.trim() === "" ? undefined : Number(input.value));

export function keysPage(scope: Scope, _params: string[]): HTMLElement {
  const admin = isAdmin();
  const me = currentUser();
  const filter = h("input", { type: "search", name: "filterUser", placeholder: "every user", autocomplete: "off" });

  /** the position of this page's last create or revoke: the list waits until the read model has it */
  let minPosition: number | undefined;
  const list = region(scope, "API keys", async (signal) => {
    const userId = admin ? filter.value.trim() : undefined;
    const { items } = await api<{ items: Key[] }>("/auth/api-keys", { query: { userId, minPosition }, signal });
    const sorted = [...items].sort((a, b) =>
      a.status === b.status ? b.createdAt.localeCompare(a.createdAt) : a.status === "active" ? -1 : 1,
    );
    return table(
      "API keys",
      [
        { label: "Name", cell: (k) => h("strong", { class: "key-name ident" }, k.name) },
        { label: "User", cell: (k) => k.userId },
        { label: "Key", cell: (k) => h("code", null, `aia_${k.prefix}_…`) },
        { label: "Scopes", cell: (k) => h("span", { class: "tags" }, ...k.scopes.map((s) => badge(s, "neutral"))) },
        { label: "Limits", cell: (k) => h("span", { class: "small" }, limitsText(k.limits)) },
        {
          label: "Status",
          cell: (k) =>
            k.status === "active"
              ? badge("active", "ok")
              : h("span", null, badge("revoked", "bad"), h("small", { class: "muted" }, ` ${when(k.revokedAt)}`)),
        },
        { label: "Created", cell: (k) => when(k.createdAt), nowrap: true },
        {
          label: "",
          cell: (k) =>
            k.status === "active"
              ? h(
                  "button",
                  { type: "button", class: "danger small", "aria-label": `Revoke key ${k.name}`, onclick: () => void revoke(k) },
                  "Revoke",
                )
              : null,
        },
      ],
      sorted,
      admin && filter.value.trim() ? "This user has no keys." : "No API keys yet. Create one above.",
    );
  });

  async function revoke(k: Key) {
    const sure = await confirmDialog(
      `Revoke “${k.name}”?`,
      [
        h("p", null, "Key ", h("code", null, `aia_${k.prefix}_…`), ` of ${k.userId} will be refused from now on.`),
        h("p", null, "This cannot be undone: a client using it needs a new key."),
      ],
      "Revoke key",
    );
    if (!sure) return;
    try {
      ({ position: minPosition } = await api<{ position: number }>(`/auth/api-keys/${seg(k.id)}`, { method: "DELETE" }));
      created.replaceChildren(h("p", { class: "notice", role: "status" }, `Key “${k.name}” revoked.`));
    } catch (error) {
      created.replaceChildren(problemBox(error));
    }
    await list.refresh();
  }

  // the create form
  const userId = h("input", { name: "userId", required: true, autocomplete: "off", maxlength: "128", placeholder: "alice" });
  const name = h("input", { name: "name", required: true, autocomplete: "off", maxlength: "100", placeholder: "laptop" });
  const scopes = SCOPES.map(([s]) =>
    h("input", { type: "checkbox", name: "scope", value: s, checked: s === "chat" || s === "billing:read" }),
  );
  const rpm = h("input", { type: "number", name: "requestsPerMinute", min: "1", step: "1", inputmode: "numeric" });
  const tpm = h("input", { type: "number", name: "tokensPerMinute", min: "1", step: "1", inputmode: "numeric" });
  const budgetInput = h("input", { name: "budget", inputmode: "decimal", pattern: "\\d+(\\.\\d{1,6})?", placeholder: "e.g. 10.50" });
  const created = h("div", { class: "created" });
  const submit = h("button", { type: "submit" }, "Create key");
  const form = h(
    "form",
    { class: "create-key", "aria-label": "Create an API key" },
    h("div", { class: "form-row" }, admin ? field("User id", userId) : null, field("Name", name, "unique among the user's active keys")),
    h(
      "fieldset",
      null,
      h("legend", null, "Scopes"),
      ...SCOPES.map(([s, what], i) => h("label", { class: "check" }, scopes[i]!, h("code", null, s), h("small", null, ` ${what}`))),
    ),
    h(
      "fieldset",
      null,
      h("legend", null, "Limits (optional)"),
      h(
        "div",
        { class: "form-row" },
        field("Requests per minute", rpm),
        field("Tokens per minute", tpm),
        field("Budget (USD)", budgetInput, "total the key may spend"),
      ),
    ),
    submit,
  );
  onAsync(form, "submit", async (e) => {
    e.preventDefault();
    submit.disabled = true;
    const limits = {
      requestsPerMinute: optionalNumber(rpm),
      tokensPerMinute: optionalNumber(tpm),
      budget: budgetInput.value.trim() || undefined,
    };
    const body = {
      ...(admin ? { userId: userId.value.trim() } : {}),
      name: name.value.trim(),
      scopes: scopes.filter((c) => c.checked).map((c) => c.value),
      ...(Object.values(limits).some((v) => v !== undefined) ? { limits } : {}),
    };
    try {
      const key = await api<Key & { key: string; position: number }>("/auth/api-keys", { method: "POST", body });
      minPosition = key.position;
      const secret = h("input", {
        class: "secret",
        readonly: true,
        value: key.key,
        "aria-label": "The new API key",
        onfocus: (ev) => (ev.target as HTMLInputElement).select(),
      });
      created.replaceChildren(
        h(
          "div",
          { class: "secret-box", role: "status" },
          h("strong", null, `Key “${key.name}” created for ${key.userId}. Copy it now: it is shown only once.`),
          h("div", { class: "secret-row" }, secret, copyButton(key.key)),
          h("button", { type: "button", class: "secondary small", onclick: () => created.replaceChildren() }, "I have stored it"),
        ),
      );
      name.value = "";
      secret.focus();
      await list.refresh();
    } catch (error) {
      created.replaceChildren(problemBox(error));
    } finally {
      submit.disabled = false;
    }
  });
  filter.addEventListener("change", () => void list.refresh());

  return h(
    "div",
    { class: "page" },
    pageHeader(
      "API keys",
      admin
        ? "Every user's keys; secrets are never stored, only shown once at creation"
        : `Keys of ${me?.kind === "user" ? me.userId : ""}`,
    ),
    section("Create a key", form, created),
    section(
      "Keys",
      admin
        ? h(
            "form",
            { class: "toolbar", role: "search", onsubmit: (e) => (e.preventDefault(), void list.refresh()) },
            field("User", filter),
            h("button", { type: "submit", class: "secondary" }, "Filter"),
          )
        : null,
      list.el,
    ),
  );
}
