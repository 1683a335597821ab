import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { readCheckpoint } from "../../../projections/checkpoints.ts";
import type { Platform } from "../../../application/platform.ts";
import type { Metrics } from "../../../infra/telemetry/metrics.ts";
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
    { config: { access: "public" }, schema: { tags, summary: "Prometheus metrics (README: Operations)", response: { 200: metricsText } } },
    async (_request, reply) => reply.type(metrics.contentType).send(await metrics.exposition()),
  );
}
