// The HTTP baseline: a bare fastify POST route, run the way `npm start` runs (node --import tsx), with
// the same JSON body parsing and a 201 JSON reply, but no auth, schema, command or store. Benchmarks
// divide the platform's req/s by this one's, measured in the same run on the same machine.
import Fastify from "fastify";

const app = Fastify({ logger: false });
app.post<{ Body: { userId?: string } }>("/billing/usage/track", async (request, reply) => {
  return reply.code(201).send({ ok: true, userId: request.body.userId ?? null });
});
app.get("/ready", async () => ({ ready: true }));

const port = Number(process.env.PORT ?? 0);
const address = await app.listen({ port, host: "127.0.0.1" });
console.log(JSON.stringify({ url: address }));

const stop = async () => {
  await app.close();
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
