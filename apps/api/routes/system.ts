import type { FastifyInstance } from "fastify";
import { readCheckpoint } from "../../../projections/projector.ts";
import type { Gateway } from "../../gateway/gateway.ts";
import type { Platform } from "../../shared/platform.ts";

export async function systemRoutes(app: FastifyInstance, { platform, gateway }: { platform: Platform; gateway: Gateway }) {
  const tags = ["system"];

  app.get("/health", { config: { access: "public" }, schema: { tags, summary: "Liveness" } }, async () => ({ status: "ok" }));

  app.get("/ready", { config: { access: "public" }, schema: { tags, summary: "Readiness: stores answer; projection lag" } }, async (_request, reply) => {
    try {
      const head = await platform.events.headPosition();
      await readCheckpoint(platform.reads);
      const applied = platform.projector.position();
      return { status: "ready", eventStore: "up", readStore: "up", headPosition: head, projectedPosition: applied, lag: Math.max(0, head - applied) };
    } catch {
      return reply.code(503).type("application/problem+json").send({ type: "about:blank", title: "Service Unavailable", status: 503, detail: "a store does not answer", code: "SYSTEM.NOT_READY" });
    }
  });

  app.get("/metrics", { config: { access: "public" }, schema: { tags, summary: "Prometheus metrics" } }, async (_request, reply) => {
    const head = await platform.events.headPosition();
    const applied = platform.projector.position();
    const lines = [
      "# HELP aggregator_event_store_head_position Global position of the last event.",
      "# TYPE aggregator_event_store_head_position gauge",
      `aggregator_event_store_head_position ${head}`,
      "# HELP aggregator_projection_position Global position the read models have applied.",
      "# TYPE aggregator_projection_position gauge",
      `aggregator_projection_position ${applied}`,
      "# HELP aggregator_projection_lag_events Events not yet projected.",
      "# TYPE aggregator_projection_lag_events gauge",
      `aggregator_projection_lag_events ${Math.max(0, head - applied)}`,
      "# HELP aggregator_upstream_anomalies_total Provider 200s refused or trimmed: non_json_event (dropped), invalid_response, credential_echo.",
      "# TYPE aggregator_upstream_anomalies_total counter",
      ...[...gateway.anomalies].map(([key, n]) => {
        const [provider, kind] = key.split(" ");
        return `aggregator_upstream_anomalies_total{provider="${provider}",kind="${kind}"} ${n}`;
      }),
      "# HELP process_resident_memory_bytes Resident memory size in bytes.",
      "# TYPE process_resident_memory_bytes gauge",
      `process_resident_memory_bytes ${process.memoryUsage.rss()}`,
    ];
    return reply.type("text/plain; version=0.0.4").send(`${lines.join("\n")}\n`);
  });
}
