// The floor of a Node gateway on this machine: fastify in front of an undici keep-alive pool, passing
// each chat completion through to the upstream fixture (body out, status, content type and body back,
// streamed) with no auth, quote, limits, billing, store, logging or metrics. bench/gateway.ts measures
// it beside ours and Portkey's, in the same run: what any gateway built from these parts adds at least.
//   UPSTREAM=<fixture url> node --import tsx bench/bare-proxy.ts   → prints {"url": ...} once listening
import Fastify from "fastify";
import { Pool } from "undici";

const upstream = new URL(process.env.UPSTREAM ?? "");
const pool = new Pool(upstream.origin, { connections: 256, keepAliveTimeout: 30_000 });
const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => done(null, body));

app.post("/v1/chat/completions", async (request, reply) => {
  const answer = await pool.request({
    method: "POST",
    path: `${upstream.pathname.replace(/\/$/, "")}/openai/v1/chat/completions`,
    headers: { "content-type": "application/json", authorization: request.headers.authorization ?? "" },
    body: request.body as string,
  });
  return reply
    .code(answer.statusCode)
    .header("content-type", String(answer.headers["content-type"] ?? "application/json"))
    .send(answer.body);
});

const address = await app.listen({ port: 0, host: "127.0.0.1" });
console.log(JSON.stringify({ url: address }));
const stop = async () => {
  await app.close();
  await pool.close();
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
