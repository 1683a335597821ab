import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { readCheckpoint } from "../../../projections/checkpoints.ts";
import type { Gateway } from "../../../application/gateway/gateway.ts";
import type { Platform } from "../../../application/platform.ts";
import { HttpProblem } from "../problem.ts";

const position = z.int().min(0);
/** a probe gets its answer within this: a store whose driver waits for a server to come back is not ready */
const READY_MS = 2000;

function withinReadyTime<T>(checks: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the stores did not answer within ${READY_MS} ms`)), READY_MS);
  });
  return Promise.race([checks, late]).finally(() => clearTimeout(timer));
}
const Ready = z.object({
  status: z.literal("ready"),
  eventStore: z.literal("up"),
  readStore: z.literal("up"),
  headPosition: position,
  projectedPosition: position,
  lag: position,
});

export async function systemRoutes(fastify: FastifyInstance, { platform, gateway }: { platform: Platform; gateway: Gateway }) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const tags = ["system"];

  app.get(
    "/health",
    { config: { access: "public" }, schema: { tags, summary: "Liveness", response: { 200: z.object({ status: z.literal("ok") }) } } },
    async () => ({ status: "ok" as const }),
  );

  app.get(
    "/ready",
    { config: { access: "public" }, schema: { tags, summary: "Readiness: stores answer; projection lag", response: { 200: Ready } } },
    async (request) => {
      try {
        // both stores answer (a read store that is unreachable fails here, or takes longer than READY_MS),
        // and the event store can write (checkWritable: an embedded store's disk is not full)
        const [head] = await withinReadyTime(
          Promise.all([platform.events.headPosition(), readCheckpoint(platform.reads), platform.events.checkWritable?.()]),
        );
        const applied = platform.projector.position();
        return {
          status: "ready" as const,
          eventStore: "up" as const,
          readStore: "up" as const,
          headPosition: head,
          projectedPosition: applied,
          lag: Math.max(0, head - applied),
        };
      } catch (error) {
        request.log.warn({ err: error }, "not ready");
        throw new HttpProblem("SYSTEM.NOT_READY", "a store does not answer, or the event store cannot write");
      }
    },
  );

  const metricsText = { description: "Prometheus text exposition format 0.0.4", content: { "text/plain": { schema: z.string() } } };
  app.get(
    "/metrics",
    { config: { access: "public" }, schema: { tags, summary: "Prometheus metrics", response: { 200: metricsText } } },
    async (_request, reply) => {
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
    },
  );
}
