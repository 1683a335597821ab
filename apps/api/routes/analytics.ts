import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { trackAnalyticsEvent } from "../../../application/analytics/analytics.ts";
import { collectionStats } from "../../../projections/index.ts";
import { dashboard } from "../../../projections/dashboard.ts";
import { eventsSummary, metrics } from "../../../projections/event-stats.ts";
import type { Platform } from "../../../application/platform.ts";
import { problem } from "../contract.ts";
import { awaitPosition, commandContext } from "../context.ts";
import { HttpProblem } from "../problem.ts";
import { id, instantOut, isoTime, minPosition, moneyOut, positionOut, queryInt, text } from "../schemas.ts";

const HOUR = 3_600_000;
const window = z.strictObject({ from: isoTime.optional(), to: isoTime.optional(), minPosition });
const rangeInvalid = { 422: problem("from is after to (REQUEST.RANGE_INVALID)") };

const count = z.int().min(0);
const Metrics = z.object({
  accounts: count,
  requests: count,
  tokens: count,
  revenue: moneyOut,
  payments: moneyOut,
  refunds: moneyOut,
  events: count,
});
const bucketSums = { requests: count, tokens: count, cost: moneyOut, payments: moneyOut, refunds: moneyOut, activeUsers: count };
const Dashboard = z.object({
  granularity: z.enum(["hour", "day"]),
  from: instantOut,
  to: instantOut,
  buckets: z.array(z.object({ start: instantOut, ...bucketSums })),
  totals: z.object(bucketSums),
  topModels: z.array(z.object({ model: z.string(), requests: count, tokens: count, cost: moneyOut })),
  topProviders: z.array(z.object({ provider: z.string(), requests: count, tokens: count })),
});
const EventsSummary = z.object({ from: instantOut, to: instantOut, total: count, byType: z.array(z.object({ type: z.string(), count })) });
const CollectionStats = z.object({ collections: z.array(z.object({ name: z.string(), documents: count })) });
const Tracked = z.object({ eventId: z.string(), accepted: z.boolean(), position: positionOut });

/** size of the JSON of an event's `properties`: keeps one client from bloating the log */
const MAX_PROPERTIES_BYTES = 16 * 1024;
export async function analyticsRoutes(fastify: FastifyInstance, { platform }: { platform: Platform }) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const tags = ["analytics"];

  /** [from, to] as ISO instants; default: the last `hours` hours */
  const range = (q: { from?: string | undefined; to?: string | undefined }, hours: number) => {
    const to = new Date(q.to ?? platform.now()).toISOString();
    const from = new Date(q.from ?? Date.parse(to) - hours * HOUR).toISOString();
    if (from > to) throw new HttpProblem("REQUEST.RANGE_INVALID", "from must not be after to");
    return { from, to };
  };

  app.get("/analytics/metrics", {
    config: { access: "admin" },
    schema: { tags, summary: "Platform totals", querystring: z.strictObject({ minPosition }), response: { 200: Metrics } },
    handler: async (request) => {
      await awaitPosition(platform, request.query.minPosition);
      return metrics(platform.reads);
    },
  });

  app.get("/analytics/dashboard", {
    config: { access: "admin" },
    schema: {
      tags,
      summary: "Time buckets (hour/day), top models, active users",
      querystring: window.extend({ granularity: z.enum(["hour", "day"]).default("hour"), top: queryInt(1, 50).default(5) }),
      response: { 200: Dashboard, ...rangeInvalid },
    },
    handler: async (request) => {
      await awaitPosition(platform, request.query.minPosition);
      const { granularity, top } = request.query;
      const { from, to } = range(request.query, granularity === "hour" ? 24 : 30 * 24);
      const start = granularity === "hour" ? `${from.slice(0, 13)}:00:00.000Z` : `${from.slice(0, 10)}T00:00:00.000Z`;
      return { granularity, from, to, ...(await dashboard(platform.reads, granularity, start, to, top)) };
    },
  });

  app.get("/analytics/stats/collection", {
    config: { access: "admin" },
    schema: { tags, summary: "Documents per read-model collection", response: { 200: CollectionStats } },
    handler: async () => collectionStats(platform.reads),
  });

  app.get("/analytics/events/summary", {
    config: { access: "admin" },
    schema: {
      tags,
      summary: "Events by type over a window (default: last 24 hours)",
      querystring: window,
      response: { 200: EventsSummary, ...rangeInvalid },
    },
    handler: async (request) => {
      await awaitPosition(platform, request.query.minPosition);
      const { from, to } = range(request.query, 24);
      return { from, to, ...(await eventsSummary(platform.reads, `${from.slice(0, 13)}:00:00.000Z`, to)) };
    },
  });

  const trackBody = z.strictObject({
    name: text(200),
    userId: id.optional(),
    properties: z
      .record(z.string().max(100), z.union([z.string().max(2000), z.number(), z.boolean(), z.null()]))
      .refine((p) => Buffer.byteLength(JSON.stringify(p)) <= MAX_PROPERTIES_BYTES, `must be at most ${MAX_PROPERTIES_BYTES} bytes of JSON`)
      .default({}),
    timestamp: isoTime.optional(),
  });
  for (const url of ["/analytics/track-event", "/analytics/events/track"]) {
    app.post(url, {
      config: { access: "user", scope: "analytics:write", owner: { in: "body", optional: true } },
      schema: { tags, summary: "Record an analytics event (202)", body: trackBody, response: { 202: Tracked } },
      handler: async (request, reply) => {
        const userId = request.owner;
        const result = await trackAnalyticsEvent(platform, commandContext(request, platform), {
          ...request.body,
          ...(userId ? { userId } : {}),
        });
        return reply.code(202).send(result);
      },
    });
  }
}
