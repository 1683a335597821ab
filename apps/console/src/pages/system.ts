import { api } from "../api.ts";
import { h } from "../dom.ts";
import { bytes, duration, num } from "../format.ts";
import { badge, pageHeader, region, section, stat, stats, table, type Scope } from "../ui.ts";

// System: stores answering (and how fast), the projector's and the relay's checkpoints and lag,
// rebuilds in progress, read-model collections. Refreshed every 3 seconds.

interface Status {
  now: string;
  uptimeSeconds: number;
  rssBytes: number;
  node: string;
  eventStore: { kind: string; status: "up" | "down"; latencyMs: number | null; headPosition: number | null };
  readStore: { kind: string; status: "up" | "down"; latencyMs: number | null };
  projector: { inProcess: boolean; checkpoint: number | null; lag: number | null };
  projections: { name: string; collection: string; documents: number | null }[];
  rebuilds: { projection: string; collection: string; position: number; lag: number | null }[];
  relay: { enabled: boolean; topic: string; checkpoint: number | null; lag: number | null };
}

const up = (s: "up" | "down") => badge(s, s === "up" ? "ok" : "bad");
const ms = (v: number | null) => (v === null ? "no answer" : `${v} ms`);
const lagBadge = (lag: number | null) =>
  lag === null ? badge("unknown", "warn") : lag === 0 ? badge("caught up", "ok") : badge(`${num(lag)} behind`, lag > 1000 ? "bad" : "warn");

export function systemPage(scope: Scope, _params: string[]): HTMLElement {
  const status = region(scope, "the system status", async (signal) => {
    const s = await api<Status>("/system/status", { signal });
    const head = s.eventStore.headPosition;
    return h(
      "div",
      null,
      stats(
        stat("Event store", [up(s.eventStore.status), ` ${s.eventStore.kind}`], `head ${num(head)} · ${ms(s.eventStore.latencyMs)}`),
        stat("Read store", [up(s.readStore.status), ` ${s.readStore.kind}`], ms(s.readStore.latencyMs)),
        stat(
          "Projector",
          lagBadge(s.projector.lag),
          `checkpoint ${num(s.projector.checkpoint)} · ${s.projector.inProcess ? "in this process" : "separate process"}`,
        ),
        stat(
          "Relay",
          s.relay.enabled ? lagBadge(s.relay.lag) : badge("off", "neutral"),
          s.relay.enabled ? `topic ${s.relay.topic} · checkpoint ${num(s.relay.checkpoint)}` : "set KAFKA_BROKERS to publish to a topic",
        ),
        stat("Process", duration(s.uptimeSeconds), `${bytes(s.rssBytes)} RSS · Node ${s.node}`),
      ),
      h(
        "div",
        { class: "stack" },
        section(
          "Projections",
          table(
            "Projections",
            [
              { label: "Projection", cell: (p) => h("strong", null, p.name) },
              { label: "Collection", cell: (p) => h("code", null, p.collection) },
              { label: "Documents", cell: (p) => num(p.documents), numeric: true },
              { label: "Checkpoint", cell: () => num(s.projector.checkpoint), numeric: true },
              { label: "Lag", cell: () => lagBadge(s.projector.lag) },
            ],
            s.projections,
          ),
        ),
        section(
          "Rebuilds",
          s.rebuilds.length === 0
            ? h("p", { class: "empty-note" }, "No rebuild running or interrupted. Start one with: npx aggregator projections rebuild --all")
            : table(
                "Rebuilds in progress",
                [
                  { label: "Projection", cell: (r) => r.projection },
                  { label: "Into", cell: (r) => h("code", null, r.collection) },
                  { label: "Position", cell: (r) => num(r.position), numeric: true },
                  { label: "Done", cell: (r) => (head ? `${Math.floor((r.position / head) * 100)}%` : "—"), numeric: true },
                  { label: "Left", cell: (r) => lagBadge(r.lag) },
                ],
                s.rebuilds,
              ),
        ),
      ),
    );
  });
  const timer = setInterval(() => void status.refresh(), 3000);
  scope.onDispose(() => clearInterval(timer));
  return h(
    "div",
    { class: "page" },
    pageHeader("System", "Stores, projections, rebuilds and the relay, as this instance sees them"),
    status.el,
  );
}
