// The floor of a Node gateway on this machine: fastify in front of an undici keep-alive pool, passing
// each chat completion through to the upstream fixture (body out, status, content type and body back,
// streamed) with no auth, quote, limits, billing, store, logging or metrics. bench/gateway.ts measures
// it beside ours and Portkey's, in the same run: what any gateway built from these parts adds at least.
// DURABLE=store|inline: the floor of a gateway that bills durably (bench/durable-floor.ts), committing as
// ours does: a plain answer is sent once its hold and settlement are durable, in one append after the
// upstream answered; a stream's hold is made durable while the upstream call runs, before its first chunk,
// and its last chunk is sent once the settlement is durable.
//   UPSTREAM=<fixture url> [DURABLE=store|inline] node --import tsx bench/bare-proxy.ts   → prints {"url": ...} once listening
import { Readable } from "node:stream";
import Fastify from "fastify";
import { Pool } from "undici";
import { durableAppend, requestEvents, type DurableKind } from "./durable-floor.ts";

const upstream = new URL(process.env.UPSTREAM ?? "");
const pool = new Pool(upstream.origin, { connections: 256, keepAliveTimeout: 30_000 });
const durable = process.env.DURABLE ? durableAppend(process.env.DURABLE as DurableKind) : null;
const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => done(null, body));

app.post("/v1/chat/completions", async (request, reply) => {
  const billed = durable && requestEvents();
  const streamed = billed && (JSON.parse(request.body as string) as { stream?: boolean }).stream === true;
  const holding = billed && streamed ? durable.append(billed.stream, billed.hold(), "no_stream") : undefined;
  const answer = await pool.request({
    method: "POST",
    path: `${upstream.pathname.replace(/\/$/, "")}/openai/v1/chat/completions`,
    headers: { "content-type": "application/json", authorization: request.headers.authorization ?? "" },
    body: request.body as string,
  });
  reply.code(answer.statusCode).header("content-type", String(answer.headers["content-type"] ?? "application/json"));
  if (!billed) return reply.send(answer.body);
  if (!streamed) {
    // plain: the hold and the settlement in one append, as ours mostly makes them (one commit, one fsync)
    const body = await answer.body.text();
    await durable.append(billed.stream, [...billed.hold(), ...billed.settlement()], "no_stream");
    return reply.send(body);
  }
  await holding;
  const settle = () => durable.append(billed.stream, billed.settlement(), 0);
  // every chunk but the last as it comes; the last once the settlement is durable
  async function* chunks() {
    let last: Buffer | undefined;
    for await (const chunk of answer.body as AsyncIterable<Buffer>) {
      if (last) yield last;
      last = chunk;
    }
    await settle();
    if (last) yield last;
  }
  return reply.send(Readable.from(chunks()));
});

const address = await app.listen({ port: 0, host: "127.0.0.1" });
console.log(JSON.stringify({ url: address }));
const stop = async () => {
  await app.close();
  await pool.close();
  await durable?.close();
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
