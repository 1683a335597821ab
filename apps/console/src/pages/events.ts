import { EVENT_TYPES } from "../../../../domain/events.ts";
import { h } from "../dom.ts";
import { num, shortHash, when } from "../format.ts";
import { headPosition, tailEvents, type EventLine } from "../live.ts";
import { badge, field, pageHeader, problemBox, section, type Scope, type Tone } from "../ui.ts";

// The event log, live: GET /events?follow=true from a position, filtered by types and user; pause
// keeps what is shown and resume continues from the last position seen, so nothing is missed.
// Every event expands to its ids, position, hashes and JSON (shown as text, whatever it contains).

const TONE: Record<string, Tone> = {
  payment_processed: "ok",
  payment_refunded: "warn",
  transaction_created: "info",
  ai_usage: "info",
  api_key_revoked: "bad",
  api_key_created: "ok",
};
const KEEP = 500;

function eventItem(e: EventLine): HTMLElement {
  const m = e.metadata;
  const user = typeof e.data.userId === "string" ? e.data.userId : null;
  const facts: [string, string][] = [
    ["Position", num(e.position)],
    ["Stream", e.streamName],
    ["Revision", String(e.revision)],
    ["Event id", m.eventId],
    ["Occurred", when(m.occurredAt)],
    ["Actor", m.actor && typeof m.actor === "object" ? JSON.stringify(m.actor) : "—"],
    ["Correlation", String(m.correlationId ?? "—")],
    ["Previous hash", m.prevHash ?? "—"],
    ["Hash", m.hash ?? "—"],
  ];
  return h(
    "li",
    { class: "event" },
    h(
      "details",
      null,
      h(
        "summary",
        null,
        h("span", { class: "pos" }, `#${e.position}`),
        badge(e.type, TONE[e.type] ?? "neutral"),
        h("span", { class: "ev-user" }, user ?? e.streamName),
        h("span", { class: "ev-time" }, when(m.occurredAt)),
        h("code", { class: "ev-hash" }, shortHash(m.hash)),
      ),
      h("dl", { class: "facts" }, ...facts.flatMap(([k, v]) => [h("dt", null, k), h("dd", null, h("code", null, v))])),
      h("pre", { class: "json" }, JSON.stringify({ type: e.type, data: e.data, metadata: e.metadata }, null, 2)),
    ),
  );
}

export function eventsPage(scope: Scope, _params: string[]): HTMLElement {
  const boxes = EVENT_TYPES.map((t) => h("input", { type: "checkbox", name: "types", value: t }));
  const user = h("input", { name: "userId", autocomplete: "off", maxlength: "128", placeholder: "any user" });
  const start = h("input", { type: "number", name: "after", min: "0", step: "1", placeholder: "latest 100" });
  const toggle = h("button", { type: "button", class: "secondary" }, "Pause");
  const status = h("p", { class: "live-status", role: "status" }, "Connecting…");
  const list = h("ol", { class: "events", "aria-label": "Events, newest first", reversed: true });
  const problemArea = h("div", null);
  let tail: AbortController | null = null;
  let last = 0;
  let shown = 0;

  const say = (text: string) => {
    status.textContent = text;
    status.classList.toggle("on", text.startsWith("●"));
  };
  function stop() {
    tail?.abort();
    tail = null;
  }
  async function follow(after: number) {
    stop();
    const mine = (tail = new AbortController()); // aborted by stop(), which the scope calls on leaving
    toggle.textContent = "Pause";
    problemArea.replaceChildren();
    last = after;
    say(`Following from position ${num(after)}…`);
    await tailEvents({
      after,
      types: boxes.filter((b) => b.checked).map((b) => b.value),
      userId: user.value.trim() || undefined,
      signal: mine.signal,
      onEvents(events) {
        for (const e of events) list.prepend(eventItem(e));
        while (list.children.length > KEEP) list.lastElementChild!.remove();
        last = events.at(-1)!.position;
        shown += events.length;
        say(
          `● Live: ${num(shown)} events received, last at position ${num(last)}${list.children.length >= KEEP ? ` (showing the newest ${KEEP})` : ""}`,
        );
      },
      onState(state, problem) {
        if (state === "live" && shown === 0) say(`● Live from position ${num(last)}: waiting for events…`);
        if (state === "reconnecting") say(`Reconnecting from position ${num(last)}…`);
        if (state === "refused") problemArea.replaceChildren(problemBox(problem));
      },
    });
  }
  async function apply() {
    list.replaceChildren();
    shown = 0;
    const typed = start.value.trim();
    try {
      await follow(typed === "" ? Math.max(0, (await headPosition()) - 100) : Number(typed));
    } catch (error) {
      problemArea.replaceChildren(problemBox(error));
    }
  }
  toggle.addEventListener("click", () => {
    if (tail) {
      stop();
      toggle.textContent = "Resume";
      say(`Paused at position ${num(last)}. Resume continues from there.`);
    } else void follow(last);
  });
  scope.onDispose(stop);
  void apply();

  const form = h(
    "form",
    { class: "event-filters", "aria-label": "Event filters" },
    h(
      "details",
      { class: "types" },
      h("summary", null, "Event types (none ticked: all)"),
      h(
        "fieldset",
        null,
        h("legend", { class: "sr-only" }, "Event types"),
        ...EVENT_TYPES.map((t, i) => h("label", { class: "check" }, boxes[i]!, t)),
      ),
    ),
    h(
      "div",
      { class: "form-row" },
      field("User id", user),
      field("Start after position", start),
      h("button", { type: "submit" }, "Apply"),
      toggle,
    ),
  );
  form.addEventListener("submit", (e) => (e.preventDefault(), void apply()));

  return h(
    "div",
    { class: "page" },
    pageHeader("Events", "The event log as it is appended: every event with its ids, position and hash"),
    section("Tail", form, status, problemArea, list),
  );
}
