import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { storeNdjsonChunks } from "../../shared/ndjson-replay.ts";
import type { Platform } from "../../shared/platform.ts";
import { EVENT_TYPES } from "../../shared/replay.ts";
import { HttpProblem } from "../problem.ts";
import { id, isoTime } from "../schemas.ts";

// GET /events: NDJSON replay straight from the event store, in global position order. The body is a
// stream fed one page at a time (socket backpressure pauses the reader), so memory stays flat however
// long the history. `x-head-position` is the head the replay stops at; resume with `after`.
// `follow=true` does not stop there: the response stays open and every new event is written as it is
// appended (the console's live tail, `aggregator replay --source api --follow`), until the client
// goes away or the server closes.

const typeList = z
  .string()
  .max(1000)
  .transform((s) => s.split(",").map((t) => t.trim()).filter(Boolean))
  .pipe(z.array(z.enum(EVENT_TYPES)))
  .describe(`comma-separated event types: ${EVENT_TYPES.join(", ")}`);

export const eventsQuery = z.strictObject({
  types: typeList.optional(),
  userId: id.optional().describe("events whose data.userId is this user"),
  after: z.coerce.number().int().min(0).optional().describe("exclusive global position to resume from"),
  from: isoTime.optional().describe("occurredAt >= from"),
  to: isoTime.optional().describe("occurredAt < to"),
  limit: z.coerce.number().int().min(1).optional().describe("stop after this many events"),
  pageSize: z.coerce.number().int().min(1).max(10_000).default(1000),
  follow: z.enum(["true", "false"]).default("false").transform((v) => v === "true").describe("keep the response open and stream new events as they are appended"),
});

export async function eventRoutes(fastify: FastifyInstance, { platform }: { platform: Platform }) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const following = new Set<AbortController>();
  fastify.addHook("preClose", async () => following.forEach((f) => f.abort())); // open tails must not hold the shutdown

  app.get("/events", {
    config: { access: "admin" },
    schema: {
      tags: ["events"],
      summary: "Replay events as NDJSON: one recorded event per line, {type, data, metadata, streamName, revision, position}, the same shape as the topic's record values",
      querystring: eventsQuery,
      produces: ["application/x-ndjson"],
    },
    handler: async (request, reply) => {
      const { limit, pageSize, follow, ...filter } = request.query;
      if (filter.from && filter.to && Date.parse(filter.from) > Date.parse(filter.to)) {
        throw new HttpProblem(400, "REQUEST.INVALID", "from must not be after to");
      }
      const stop = new AbortController();
      reply.raw.on("close", () => stop.abort()); // finished or client gone: stop reading the store
      const head = await platform.events.headPosition();
      const chunks = storeNdjsonChunks(platform.events, filter, { pageSize, limit, signal: stop.signal, ...(follow ? { follow } : { until: head }) });
      if (follow) {
        following.add(stop);
        stop.signal.addEventListener("abort", () => following.delete(stop));
        reply.header("cache-control", "no-store").header("x-accel-buffering", "no"); // proxies must not hold lines back
      }
      async function* body() {
        if (follow) reply.raw.flushHeaders(); // a tail may wait long for its first event: answer now
        for await (const chunk of chunks) yield chunk.text;
      }
      return reply
        .type("application/x-ndjson")
        .header("x-head-position", String(head))
        .send(Readable.from(body(), { objectMode: false }));
    },
  });
}
