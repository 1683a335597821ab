import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { relayCheckpointId } from "../../../infra/kafka/relay.ts";
import { allProjections } from "../../../projections/index.ts";
import { readCheckpoint } from "../../../projections/checkpoints.ts";
import { pendingRebuilds } from "../../../projections/rebuild.ts";
import type { Gateway } from "../../../application/gateway/gateway.ts";
import type { Platform } from "../../../application/platform.ts";
import type { Config } from "../../../infra/config.ts";

// What an operator watches: each store answering and how fast, the projector's and the relay's
// checkpoints and lag, rebuilds in progress, and each provider's circuit, error rate and latency.
// Lag is counted in events (head position minus checkpoint), as /metrics does.

const position = z.int().min(0);
const Store = z.object({ kind: z.string(), status: z.enum(["up", "down"]), latencyMs: z.number().nullable() });
const SystemStatus = z.object({
  now: z.string(),
  uptimeSeconds: z.int(),
  rssBytes: z.int(),
  node: z.string(),
  eventStore: Store.extend({ headPosition: position.nullable() }),
  readStore: Store,
  projector: z.object({ inProcess: z.boolean(), checkpoint: position.nullable(), lag: position.nullable() }),
  projections: z.array(z.object({ name: z.string(), collection: z.string(), documents: z.int().nullable() })),
  rebuilds: z.array(z.object({ projection: z.string(), collection: z.string(), position, lag: position.nullable() })),
  relay: z.object({ enabled: z.boolean(), topic: z.string(), checkpoint: position.nullable(), lag: position.nullable() }),
});
const Providers = z.object({
  providers: z.array(
    z.object({
      provider: z.string(),
      configured: z.boolean(),
      models: z.int(),
      circuit: z.enum(["closed", "open", "half_open"]),
      consecutiveFailures: z.int(),
      retryAfterMs: z.int(),
      recent: z.object({ windowSeconds: z.int(), requests: z.int(), failures: z.int(), errorRate: z.number().nullable() }),
      latencyMs: z.number().nullable().describe("moving average of time to first byte"),
    }),
  ),
});

/** the value and how long it took, or null when the store did not answer */
async function timed<T>(read: () => Promise<T>): Promise<{ value: T; ms: number } | null> {
  const started = performance.now();
  try {
    const value = await read();
    return { value, ms: Math.round((performance.now() - started) * 10) / 10 };
  } catch {
    return null;
  }
}

export async function statusRoutes(
  fastify: FastifyInstance,
  { platform, gateway, config }: { platform: Platform; gateway: Gateway; config: Config },
) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { events, reads } = platform;

  app.get("/system/status", {
    config: { access: "admin" },
    schema: {
      tags: ["system"],
      summary: "Stores, projector and relay checkpoints with their lag, rebuilds in progress, collections",
      response: { 200: SystemStatus },
    },
    handler: async () => {
      const head = await timed(() => events.headPosition());
      const checkpoint = await timed(() => readCheckpoint(reads));
      const lag = (at: number | null) => (head && at !== null ? Math.max(0, head.value - at) : null);
      const up = checkpoint !== null;
      const relayAt =
        up && config.KAFKA_BROKERS ? await readCheckpoint(reads, relayCheckpointId(config.KAFKA_TOPIC)).catch(() => null) : null;
      const collections = [...new Map(allProjections.map((p) => [p.collection, p.name]))];
      return {
        now: platform.now(),
        uptimeSeconds: Math.round(process.uptime()),
        rssBytes: process.memoryUsage.rss(),
        node: process.version,
        eventStore: {
          kind: config.EVENT_STORE,
          status: head ? ("up" as const) : ("down" as const),
          latencyMs: head?.ms ?? null,
          headPosition: head?.value ?? null,
        },
        readStore: { kind: config.READ_STORE, status: up ? ("up" as const) : ("down" as const), latencyMs: checkpoint?.ms ?? null },
        projector: { inProcess: config.RUN_PROJECTOR, checkpoint: checkpoint?.value ?? null, lag: lag(checkpoint?.value ?? null) },
        projections: await Promise.all(
          collections.map(async ([collection, name]) => ({
            name,
            collection,
            documents: up
              ? await reads
                  .collection(collection)
                  .count()
                  .catch(() => null)
              : null,
          })),
        ),
        rebuilds: up ? (await pendingRebuilds(reads, allProjections)).map((r) => ({ ...r, lag: lag(r.position) })) : [],
        relay: { enabled: Boolean(config.KAFKA_BROKERS), topic: config.KAFKA_TOPIC, checkpoint: relayAt, lag: lag(relayAt) },
      };
    },
  });

  app.get("/orchestrator/providers", {
    config: { access: "admin" },
    schema: {
      tags: ["orchestrator"],
      summary: "Each provider of this instance: circuit state, error rate over the last 5 minutes, latency",
      response: { 200: Providers },
    },
    handler: async () => {
      const names = [...new Set([...gateway.providers.keys(), ...platform.catalog.models.map((m) => m.provider)])].sort();
      return {
        providers: names.map((provider) => {
          const breaker = gateway.breaker(provider);
          const { state, ...snapshot } = breaker.snapshot();
          const recent = breaker.recent();
          const latency = gateway.latency.ofProvider(provider);
          return {
            provider,
            configured: gateway.providers.get(provider)?.configured ?? false,
            models: platform.catalog.models.filter((m) => m.provider === provider).length,
            circuit: state,
            ...snapshot,
            recent: { ...recent, errorRate: recent.requests > 0 ? recent.failures / recent.requests : null },
            latencyMs: latency === null ? null : Math.round(latency * 10) / 10,
          };
        }),
      };
    },
  });
}
