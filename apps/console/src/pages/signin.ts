import { h, onAsync } from "../dom.ts";
import { field, problemBox, type Scope } from "../ui.ts";

// Sign-in with the admin token (operator: every account) or an API key (that key's user only).

export function signInPage(_scope: Scope, start: (token: string, remember: boolean) => Promise<void>): HTMLElement {
  const token = h("input", {
    id: "token",
    type: "password",
    name: "token",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    "aria-describedby": "token-help",
  });
  const remember = h("input", { type: "checkbox", name: "remember" });
  const error = h("div", { class: "form-error" });
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    { class: "signin-form", "aria-label": "Sign in" },
    field("Admin token or API key", token),
    h(
      "p",
      { id: "token-help", class: "help" },
      "Operators use the admin token: ADMIN_TOKEN, or the file npm start printed (DATA_DIR/admin-token). Users use their API key (aia_…); it shows that key's account only.",
    ),
    h("label", { class: "check" }, remember, "Keep me signed in while this tab is open"),
    error,
    button,
  );
  onAsync(form, "submit", async (event) => {
    event.preventDefault();
    error.replaceChildren();
    button.disabled = true;
    button.textContent = "Signing in…";
    try {
      await start(token.value.trim(), remember.checked);
    } catch (e) {
      error.append(problemBox(e));
      button.disabled = false;
      button.textContent = "Sign in";
      token.focus();
    }
  });
  return h(
    "div",
    { class: "signin" },
    h(
      "main",
      { class: "signin-card" },
      h("div", { class: "brand" }, h("span", { class: "logo", "aria-hidden": "true" }, "◆"), "AI Aggregator"),
      h("h1", { tabindex: "-1" }, "Sign in to the console"),
      form,
      h(
        "p",
        { class: "fine" },
        "Your token stays in this tab's memory (and, if you tick the box, in this tab's session storage). It is never put in a URL, a cookie or local storage, and is sent only to this server.",
      ),
    ),
  );
}
