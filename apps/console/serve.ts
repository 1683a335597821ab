import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { notFound } from "../../domain/errors.ts";
import { asset, buildConsole, type Asset, type ConsoleAssets } from "./build.ts";

// The web console: `/` and its assets under `/console/`, public (they hold no data: every figure the
// console shows comes from the API, called with the token the user typed, under the API's own rules).
// Every response here carries a strict Content-Security-Policy: scripts and styles only from this
// origin, no inline script or style, no plugins, no framing, no form posts, fetch only to this origin.

export const CONSOLE_SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

const indexHtml = (version: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>AI Aggregator console</title>
<link rel="icon" href="/console/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/console/app.css?v=${version}">
<script type="module" src="/console/app.js?v=${version}"></script>
</head>
<body>
<div id="app"><p class="boot">Loading the console…</p></div>
<noscript><p class="boot">The console needs JavaScript. The API itself works without it: see <a href="/docs">/docs</a>.</p></noscript>
</body>
</html>
`;

function send(request: FastifyRequest, reply: FastifyReply, file: Asset, cache: string) {
  const gzip = /\bgzip\b/.test(String(request.headers["accept-encoding"] ?? ""));
  reply.header("content-type", file.type).header("cache-control", cache).header("vary", "accept-encoding");
  if (gzip) reply.header("content-encoding", "gzip");
  return reply.send(gzip ? file.gzip : file.body);
}

export async function consoleRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  let built: Promise<ConsoleAssets & { index: Asset }> | null = null;
  const assets = () =>
    (built ??= buildConsole()
      .then((a) => ({ ...a, index: asset("index.html", Buffer.from(indexHtml(a.version))) }))
      .catch((error: unknown) => {
        built = null; // the next request tries again
        throw error;
      }));
  // `npm start` builds as it starts listening; app.inject in tests builds on the first request
  app.addHook("onListen", async () => void assets().catch((error: unknown) => app.log.error({ err: error }, "console build failed")));
  app.addHook("onSend", async (_request, reply, payload) => {
    reply.headers(CONSOLE_SECURITY_HEADERS);
    return payload;
  });

  app.get("/", { config: { access: "public" }, schema: { hide: true } }, async (request, reply) =>
    send(request, reply, (await assets()).index, "no-cache"),
  );

  app.get("/console/:file", {
    config: { access: "public" },
    schema: {
      hide: true,
      params: z.strictObject({ file: z.string().max(100) }),
      querystring: z.object({ v: z.string().max(64).optional() }),
    },
    handler: async (request, reply) => {
      const { files, version } = await assets();
      const file = files.get(request.params.file);
      if (!file) throw notFound("ROUTE.NOT_FOUND", "no such console file");
      // a versioned URL never changes content: cached for good; anything else revalidates
      return send(request, reply, file, request.query.v === version ? "public, max-age=31536000, immutable" : "no-cache");
    },
  });
}
