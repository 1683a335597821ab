import { h, route } from "../dom.ts";

// What a first visit shows when there is no data yet: the three steps from nothing to a metered request.

const code = (text: string) => h("pre", { class: "snippet" }, h("code", null, text));

export function gettingStarted(): HTMLElement {
  const origin = location.origin;
  return h(
    "section",
    { class: "card getting-started", "aria-labelledby": "start-title" },
    h("h2", { id: "start-title" }, "Get started: no events yet"),
    h("p", null, "This platform has recorded nothing so far. Three steps take you from here to a metered, charged request:"),
    h(
      "ol",
      { class: "steps" },
      h(
        "li",
        null,
        h("strong", null, "Create an API key for a user. "),
        "On the ",
        h("a", { href: route("keys") }, "API keys"),
        " page, or:",
        code(
          `curl -X POST ${origin}/auth/api-keys -H "authorization: Bearer $ADMIN_TOKEN" \\\n  -H 'content-type: application/json' -d '{"userId":"alice","name":"laptop"}'`,
        ),
      ),
      h(
        "li",
        null,
        h("strong", null, "Top up the user's prepaid balance."),
        code(
          `curl -X POST ${origin}/billing/payment/process -H "authorization: Bearer $ADMIN_TOKEN" \\\n  -H 'content-type: application/json' -d '{"userId":"alice","amount":"25"}'`,
        ),
      ),
      h(
        "li",
        null,
        h("strong", null, "Call the gateway with the key, "),
        "with any OpenAI SDK (base URL ",
        h("code", null, `${origin}/v1`),
        ") or from the ",
        h("a", { href: route("gateway") }, "Gateway"),
        " page:",
        code(
          `curl ${origin}/v1/chat/completions -H "authorization: Bearer $KEY" -H 'content-type: application/json' \\\n  -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]}'`,
        ),
      ),
    ),
    h(
      "p",
      null,
      "Each step appears here as it happens: revenue, requests and the new account, without reloading. The ",
      h("a", { href: route("events") }, "Events"),
      " page shows every event as it is appended.",
    ),
  );
}

export function userGettingStarted(): HTMLElement {
  const origin = location.origin;
  return h(
    "section",
    { class: "card getting-started" },
    h("h2", null, "No usage yet"),
    h(
      "p",
      null,
      "Requests made with your API key show up here with their cost. Point any OpenAI SDK at ",
      h("code", null, `${origin}/v1`),
      " with your key, or try one from the ",
      h("a", { href: route("gateway") }, "Gateway"),
      " page:",
    ),
    code(
      `curl ${origin}/v1/chat/completions -H "authorization: Bearer $YOUR_KEY" -H 'content-type: application/json' \\\n  -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]}'`,
    ),
  );
}
