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
});

export async function eventRoutes(fastify: FastifyInstance, { platform }: { platform: Platform }) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  app.get("/events", {
    config: { access: "admin" },
    schema: {
      tags: ["events"],
      summary: "Replay events as NDJSON: one recorded event per line, {type, data, metadata, streamName, revision, position}, the same shape as the topic's record values",
      querystring: eventsQuery,
      produces: ["application/x-ndjson"],
    },
    handler: async (request, reply) => {
      const { limit, pageSize, ...filter } = request.query;
      if (filter.from && filter.to && Date.parse(filter.from) > Date.parse(filter.to)) {
        throw new HttpProblem(400, "REQUEST.INVALID", "from must not be after to");
      }
      const stop = new AbortController();
      reply.raw.on("close", () => stop.abort()); // finished or client gone: stop reading the store
      const head = await platform.events.headPosition();
      const chunks = storeNdjsonChunks(platform.events, filter, { pageSize, until: head, limit, signal: stop.signal });
      async function* body() {
        for await (const chunk of chunks) yield chunk.text;
      }
      return reply
        .type("application/x-ndjson")
        .header("x-head-position", String(head))
        .send(Readable.from(body(), { objectMode: false }));
    },
  });
}
