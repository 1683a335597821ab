import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { readCheckpoint } from "../../../projections/checkpoints.ts";
import type { Platform } from "../../../application/platform.ts";
import type { Metrics } from "../../../infra/telemetry/metrics.ts";
import { HttpProblem } from "../problem.ts";

const position = z.int().min(0);
const Ready = z.object({
  status: z.literal("ready"),
  eventStore: z.literal("up"),
  readStore: z.literal("up"),
  headPosition: position,
  projectedPosition: position,
  lag: position,
});

export async function systemRoutes(fastify: FastifyInstance, { platform, metrics }: { platform: Platform; metrics: Metrics }) {
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
        const head = await platform.events.headPosition();
        await readCheckpoint(platform.reads);
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
        throw new HttpProblem("SYSTEM.NOT_READY", "a store does not answer");
      }
    },
  );

  const metricsText = { description: "Prometheus text exposition format 0.0.4", content: { "text/plain": { schema: z.string() } } };
  app.get(
    "/metrics",
    { config: { access: "public" }, schema: { tags, summary: "Prometheus metrics (README: Operations)", response: { 200: metricsText } } },
    async (_request, reply) => reply.type(metrics.contentType).send(await metrics.exposition()),
  );
}
