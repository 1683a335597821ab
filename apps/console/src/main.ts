import { api, ApiError, whenUnauthorized } from "./api.ts";
import { fill, h, route } from "./dom.ts";
import { signInPage } from "./pages/signin.ts";
import { accountsPage } from "./pages/accounts.ts";
import { eventsPage } from "./pages/events.ts";
import { gatewayPage } from "./pages/gateway.ts";
import { keysPage } from "./pages/keys.ts";
import { overviewPage } from "./pages/overview.ts";
import { systemPage } from "./pages/system.ts";
import { usagePage } from "./pages/usage.ts";
import { currentUser, hasScope, isAdmin, signIn, signOut, storedToken, type Me } from "./session.ts";
import { markReady, problemBox, Scope } from "./ui.ts";
import "./styles.css";

// The shell: sign-in, navigation and a hash router (`#/accounts/alice`): the path after `#` never
// reaches the server, and every id in it is URL-encoded per segment. Which pages a principal sees in
// the menu is convenience only; what it may read is decided by the API on every call.

type PageFn = (scope: Scope, params: string[]) => HTMLElement;
interface Nav {
  path: string;
  label: string;
  page: PageFn;
  visible: () => boolean;
}

const NAV: Nav[] = [
  { path: "", label: "Overview", page: overviewPage, visible: () => true },
  { path: "accounts", label: "Accounts", page: accountsPage, visible: () => isAdmin() || hasScope("billing:read") },
  { path: "keys", label: "API keys", page: keysPage, visible: () => hasScope("keys") },
  { path: "usage", label: "Usage", page: usagePage, visible: () => isAdmin() || hasScope("billing:read") },
  { path: "events", label: "Events", page: eventsPage, visible: isAdmin },
  { path: "gateway", label: "Gateway", page: gatewayPage, visible: () => true },
  { path: "system", label: "System", page: systemPage, visible: isAdmin },
];

const root = document.getElementById("app")!;
let scope: Scope | null = null;

function parseHash(): string[] {
  return location.hash
    .replace(/^#\/?/, "")
    .split("/")
    .filter(Boolean)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
}

function who(me: Me) {
  return me.kind === "admin"
    ? ["Operator", h("small", null, "admin token · every account")]
    : [me.userId, h("small", null, `API key ${me.keyId}`)];
}

function render(): void {
  const me = currentUser();
  scope?.dispose();
  scope = new Scope();
  if (!me) {
    fill(root, signInPage(scope, start));
    document.querySelector<HTMLElement>("#token")?.focus();
    markReady();
    return;
  }
  const [first = "", ...params] = parseHash();
  const nav = NAV.find((n) => n.path === first);
  const main = h("main", { id: "content", class: "content" });
  const menu = h(
    "nav",
    { class: "menu", "aria-label": "Console pages" },
    h(
      "ul",
      null,
      ...NAV.filter((n) => n.visible()).map((n) =>
        h("li", null, h("a", { href: route(...(n.path ? [n.path] : [])), "aria-current": n === nav ? "page" : null }, n.label)),
      ),
    ),
  );
  fill(
    root,
    h(
      "a",
      { href: "#content", class: "skip-link", onclick: (e) => (e.preventDefault(), main.querySelector<HTMLElement>("h1")?.focus()) },
      "Skip to content",
    ),
    h(
      "div",
      { class: "shell" },
      h(
        "aside",
        { class: "sidebar" },
        h("div", { class: "brand" }, h("span", { class: "logo", "aria-hidden": "true" }, "◆"), "AI Aggregator"),
        menu,
        h(
          "div",
          { class: "whoami" },
          h("span", { class: "who" }, ...who(me)),
          h("button", { type: "button", class: "secondary small", onclick: () => (signOut(), render()) }, "Sign out"),
        ),
      ),
      main,
    ),
  );
  if (nav) main.append(nav.page(scope, params));
  else main.append(problemBox(new ApiError(404, "CONSOLE.NO_PAGE", `There is no page "${first}" in the console.`)));
  document.title = `${nav?.label ?? "Not found"} · AI Aggregator console`;
}

/** a token typed in (or kept in this tab): valid when GET /auth/me accepts it */
async function start(token: string, remember: boolean): Promise<void> {
  const me = await api<Me>("/auth/me", { token });
  signIn(token, me, remember);
  render();
  root.querySelector<HTMLElement>("h1")?.focus();
}

whenUnauthorized(() => {
  signOut(); // the key was revoked or the admin token changed: back to the sign-in form
  render();
});
window.addEventListener("hashchange", () => {
  render();
  root.querySelector<HTMLElement>("h1")?.focus();
});

const kept = storedToken();
if (kept) start(kept, true).catch(() => (signOut(), render()));
else render();
