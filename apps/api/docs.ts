import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

// /docs, Swagger UI over the API's own OpenAPI document, built on its first request: registering
// @fastify/swagger-ui (with @fastify/static and its file-serving stack) took ~150 ms of every start and
// ~5 MB, for a page most processes never serve. The UI runs in an inner fastify instance, never listening,
// whose document is the API's (@fastify/swagger in static mode); each request is answered through
// `inject`, so the API's own hooks (access, request id, log line, metrics) apply to /docs as to any route.

/** the inner answer's headers that fastify sets itself on the API's answer */
const HOP_HEADERS = new Set(["content-length", "transfer-encoding", "connection", "keep-alive", "date"]);

export function registerDocs(app: FastifyInstance) {
  let docs: Promise<FastifyInstance> | undefined;
  async function build() {
    const [{ default: Fastify }, { default: swagger }, { default: swaggerUi }] = await Promise.all([
      import("fastify"),
      import("@fastify/swagger"),
      import("@fastify/swagger-ui"),
    ]);
    const inner = Fastify();
    await inner.register(swagger, { mode: "static", specification: { document: app.swagger() as never } });
    await inner.register(swaggerUi, { routePrefix: "/docs", uiConfig: { deepLinking: false } });
    await inner.ready();
    return inner;
  }
  async function serve(request: FastifyRequest, reply: FastifyReply) {
    docs ??= build().catch((error: unknown) => {
      docs = undefined; // the next request tries again
      throw error;
    });
    const answer = await (await docs).inject({ method: request.method as "GET" | "HEAD", url: request.url, headers: request.headers });
    if (answer.statusCode === 404) return reply.callNotFound(); // the API's own problem+json 404
    for (const [name, value] of Object.entries(answer.headers))
      if (value !== undefined && !HOP_HEADERS.has(name)) reply.header(name, value);
    return reply.code(answer.statusCode).send(answer.rawPayload);
  }
  const options = { config: { access: "public" as const }, schema: { hide: true } };
  for (const url of ["/docs", "/docs/", "/docs/*"]) app.get(url, options, serve);
}
