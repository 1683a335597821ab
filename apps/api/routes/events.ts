import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { storeNdjsonChunks } from "../../../application/replay/ndjson-replay.ts";
import type { Platform } from "../../../application/platform.ts";
import { EVENT_TYPES } from "../../../application/replay/replay.ts";
import { HttpProblem } from "../problem.ts";
import { documentedAs, problem } from "../contract.ts";
import { id, isoTime, queryInt } from "../schemas.ts";

// GET /events: NDJSON replay straight from the event store, in global position order. The body is a
// stream fed one page at a time (socket backpressure pauses the reader), so memory stays flat however
// long the history. `x-head-position` is the head the replay stops at; resume with `after`.
// `follow=true` does not stop there: the response stays open and every new event is written as it is
// appended (the console's live tail, `aggregator replay --source api --follow`), until the client
// goes away or the server closes.

const oneType = `(?:${EVENT_TYPES.join("|")})`;
const TYPE_LIST = `^(?:${oneType}(?:,${oneType})*)?$`;
const typeList = documentedAs(
  z
    .string()
    .regex(new RegExp(TYPE_LIST), `comma-separated event types: ${EVENT_TYPES.join(", ")}`)
    .transform((s) => s.split(",").filter(Boolean) as (typeof EVENT_TYPES)[number][]),
  { type: "string", pattern: TYPE_LIST, description: `comma-separated event types (empty: all): ${EVENT_TYPES.join(", ")}` },
);

export const eventsQuery = z.strictObject({
  types: typeList.optional(),
  userId: id.optional().describe("events whose data.userId is this user"),
  after: queryInt().optional().describe("exclusive global position to resume from"),
  from: isoTime.optional().describe("occurredAt >= from"),
  to: isoTime.optional().describe("occurredAt < to"),
  limit: queryInt(1).optional().describe("stop after this many events"),
  pageSize: queryInt(1, 10_000).default(1000),
  follow: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true")
    .describe("keep the response open and stream new events as they are appended"),
});
/** one line of the replay (OpenAPI 3.1: the schema of a line-delimited stream is one line) */
const RecordedLine = z.object({
  type: z.string(),
  data: z.record(z.string(), z.unknown()).describe("money in integer micro-USD, as stored"),
  metadata: z.record(z.string(), z.unknown()),
  streamName: z.string(),
  revision: z.int(),
  position: z.int(),
});
const ndjson = {
  description: "one recorded event per line; x-head-position is the head the replay stops at",
  content: { "application/x-ndjson": { schema: RecordedLine } },
};

export async function eventRoutes(fastify: FastifyInstance, { platform }: { platform: Platform }) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const following = new Set<AbortController>();
  fastify.addHook("preClose", async () => following.forEach((f) => f.abort())); // open tails must not hold the shutdown

  app.get("/events", {
    config: { access: "admin" },
    schema: {
      tags: ["events"],
      summary:
        "Replay events as NDJSON: one recorded event per line, {type, data, metadata, streamName, revision, position}, the same shape as the topic's record values",
      querystring: eventsQuery,
      response: { 200: ndjson, 422: problem("from is after to (REQUEST.RANGE_INVALID)") },
    },
    handler: async (request, reply) => {
      const { limit, pageSize, follow, ...filter } = request.query;
      if (filter.from && filter.to && Date.parse(filter.from) > Date.parse(filter.to)) {
        throw new HttpProblem("REQUEST.RANGE_INVALID", "from must not be after to");
      }
      const stop = new AbortController();
      reply.raw.on("close", () => stop.abort()); // finished or client gone: stop reading the store
      const head = await platform.events.headPosition();
      const chunks = storeNdjsonChunks(platform.events, filter, {
        pageSize,
        limit,
        signal: stop.signal,
        ...(follow ? { follow } : { until: head }),
      });
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
        .send(Readable.from(body(), { objectMode: false }) as never); // streamed: the schema documents one line
    },
  });
}
