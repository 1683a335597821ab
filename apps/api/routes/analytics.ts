import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { trackAnalyticsEvent } from "../../shared/analytics.ts";
import { allProjections } from "../../../projections/index.ts";
import { formatMoney } from "../../../domain/money.ts";
import { collectionStats, dashboard, eventsSummary, metrics } from "../../../projections/queries.ts";
import type { Platform } from "../../shared/platform.ts";
import { awaitPosition, commandContext } from "../context.ts";
import { HttpProblem } from "../problem.ts";
import { id, isoTime, minPosition } from "../schemas.ts";

const HOUR = 3_600_000;
const window = z.strictObject({ from: isoTime.optional(), to: isoTime.optional(), minPosition });

export async function analyticsRoutes(fastify: FastifyInstance, { platform }: { platform: Platform }) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const tags = ["analytics"];

  /** [from, to] as ISO instants; default: the last `hours` hours */
  const range = (q: { from?: string | undefined; to?: string | undefined }, hours: number) => {
    const to = new Date(q.to ?? platform.now()).toISOString();
    const from = new Date(q.from ?? Date.parse(to) - hours * HOUR).toISOString();
    if (from > to) throw new HttpProblem(400, "REQUEST.INVALID", "from must not be after to");
    return { from, to };
  };

  app.get("/analytics/metrics", {
    config: { access: "admin" },
    schema: { tags, summary: "Platform totals", querystring: z.strictObject({ minPosition }) },
    handler: async (request) => {
      await awaitPosition(platform, request.query.minPosition);
      const m = await metrics(platform.reads);
      return { ...m, revenue: formatMoney(m.revenue), payments: formatMoney(m.payments), refunds: formatMoney(m.refunds) };
    },
  });

  app.get("/analytics/dashboard", {
    config: { access: "admin" },
    schema: { tags, summary: "Time buckets (hour/day), top models, active users", querystring: window.extend({ granularity: z.enum(["hour", "day"]).default("hour"), top: z.coerce.number().int().min(1).max(50).default(5) }) },
    handler: async (request) => {
      await awaitPosition(platform, request.query.minPosition);
      const { granularity, top } = request.query;
      const { from, to } = range(request.query, granularity === "hour" ? 24 : 30 * 24);
      const start = granularity === "hour" ? `${from.slice(0, 13)}:00:00.000Z` : `${from.slice(0, 10)}T00:00:00.000Z`;
      const d = await dashboard(platform.reads, granularity, start, to, top);
      const money = <T extends { cost: bigint }>(row: T) => ({ ...row, cost: formatMoney(row.cost) });
      return {
        granularity,
        from,
        to,
        buckets: d.buckets.map((b) => ({ ...money(b), payments: formatMoney(b.payments), refunds: formatMoney(b.refunds) })),
        totals: { ...money(d.totals), payments: formatMoney(d.totals.payments), refunds: formatMoney(d.totals.refunds) },
        topModels: d.topModels.map(money),
        topProviders: d.topProviders,
      };
    },
  });

  app.get("/analytics/stats/collection", {
    config: { access: "admin" },
    schema: { tags, summary: "Documents per read-model collection" },
    handler: async () => collectionStats(platform.reads, [...new Set(allProjections.map((p) => p.collection))]),
  });

  app.get("/analytics/events/summary", {
    config: { access: "admin" },
    schema: { tags, summary: "Events by type over a window (default: last 24 hours)", querystring: window },
    handler: async (request) => {
      await awaitPosition(platform, request.query.minPosition);
      const { from, to } = range(request.query, 24);
      return { from, to, ...(await eventsSummary(platform.reads, `${from.slice(0, 13)}:00:00.000Z`, to)) };
    },
  });

  const trackBody = z.strictObject({
    name: z.string().min(1).max(200),
    userId: id.optional(),
    properties: z.record(z.string().max(100), z.union([z.string().max(2000), z.number(), z.boolean(), z.null()])).default({}),
    timestamp: isoTime.optional(),
  });
  for (const url of ["/analytics/track-event", "/analytics/events/track"]) {
    app.post(url, {
      config: { access: "user", scope: "analytics:write", owner: { in: "body", optional: true } },
      schema: { tags, summary: "Record an analytics event (202)", body: trackBody },
      handler: async (request, reply) => {
        const userId = request.owner;
        const result = await trackAnalyticsEvent(platform, commandContext(request, platform), { ...request.body, ...(userId ? { userId } : {}) });
        return reply.code(202).send(result);
      },
    });
  }
}
