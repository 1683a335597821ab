import { h } from "../dom.ts";
import { num, shortHash, usd } from "../format.ts";
import { badge, table } from "../ui.ts";

// The verdict of GET /audit/verify/:userId (and of each mismatch of GET /audit/reconcile): does the
// hash chain hold, and if not, which event is the first bad one; does the read model equal the events.

interface Fold {
  balance: string;
  held: string;
  transactions: number;
}
interface Problem {
  code: string;
  detail: string;
  eventId?: string;
  type?: string;
  revision?: number;
  position?: number;
}
export interface AccountAudit {
  userId: string;
  ok: boolean;
  events: number;
  lastRevision: number;
  lastHash: string;
  fromEvents: Fold;
  readModel: (Fold & { position: number; expectedAtPosition: Fold }) | null;
  lagging: boolean;
  problems: Problem[];
}

const where = (p: Problem) =>
  [p.type, p.revision !== undefined ? `revision ${p.revision}` : null, p.position !== undefined ? `position ${num(p.position)}` : null]
    .filter(Boolean)
    .join(", ");

function comparison(a: AccountAudit): HTMLElement {
  const rm = a.readModel;
  const rows = [
    {
      what: "Balance",
      events: usd(a.fromEvents.balance),
      read: rm ? usd(rm.balance) : "—",
      expected: rm ? usd(rm.expectedAtPosition.balance) : "—",
      same: rm?.balance === rm?.expectedAtPosition.balance,
    },
    {
      what: "Held",
      events: usd(a.fromEvents.held),
      read: rm ? usd(rm.held) : "—",
      expected: rm ? usd(rm.expectedAtPosition.held) : "—",
      same: rm?.held === rm?.expectedAtPosition.held,
    },
    {
      what: "Transactions",
      events: num(a.fromEvents.transactions),
      read: rm ? num(rm.transactions) : "—",
      expected: rm ? num(rm.expectedAtPosition.transactions) : "—",
      same: rm?.transactions === rm?.expectedAtPosition.transactions,
    },
  ];
  return table(
    `Read model against the events of ${a.userId}`,
    [
      { label: "", cell: (r) => h("strong", null, r.what) },
      { label: "From all events", cell: (r) => r.events, numeric: true },
      { label: rm ? `Events up to position ${num(rm.position)}` : "Events at read model", cell: (r) => r.expected, numeric: true },
      { label: "Read model", cell: (r) => r.read, numeric: true },
      { label: "", cell: (r) => (!rm ? badge("no read model", "warn") : r.same ? badge("matches", "ok") : badge("differs", "bad")) },
    ],
    rows,
  );
}

export function auditJsonView(a: AccountAudit): HTMLElement {
  const chain = a.problems.filter((p) => p.code.startsWith("CHAIN.") || p.code.startsWith("STREAM."));
  const first = a.problems[0];
  const heading = a.ok
    ? h(
        "div",
        { class: "verdict-head" },
        badge("Chain holds", "ok"),
        h(
          "span",
          null,
          `${num(a.events)} events of ${a.userId}: every hash matches its event and links to the one before; the read model equals the events.`,
        ),
      )
    : h(
        "div",
        { class: "verdict-head" },
        badge(chain.length > 0 ? "Chain broken" : "Does not reconcile", "bad"),
        h("span", null, `${num(a.events)} events of ${a.userId}, ${a.problems.length} problem${a.problems.length === 1 ? "" : "s"}.`),
      );
  return h(
    "div",
    { class: `verdict ${a.ok ? "ok" : "bad"}`, role: a.ok ? "status" : "alert" },
    heading,
    first
      ? h(
          "div",
          { class: "first-bad" },
          h(
            "p",
            null,
            h("strong", null, "First bad event: "),
            h("code", { class: "event-id" }, first.eventId ?? "(none)"),
            first.eventId ? ` (${where(first)})` : "",
          ),
          h("p", null, `${first.detail} `, h("span", { class: "code" }, first.code)),
          a.problems.length > 1
            ? h(
                "details",
                null,
                h("summary", null, `All ${a.problems.length} problems`),
                h(
                  "ul",
                  null,
                  ...a.problems.map((p) =>
                    h("li", null, h("code", null, p.eventId ?? "—"), ` ${where(p)}: ${p.detail} `, h("span", { class: "code" }, p.code)),
                  ),
                ),
              )
            : null,
        )
      : null,
    a.lagging ? h("p", { class: "muted" }, "The read model has not applied the latest events yet (lag, not a mismatch).") : null,
    comparison(a),
    h(
      "p",
      { class: "muted small" },
      `Last revision ${a.lastRevision}, last hash `,
      h("code", { title: a.lastHash }, shortHash(a.lastHash)),
    ),
  );
}
