import fastifySwagger from "@fastify/swagger";
import Fastify, { LogController, type FastifyBaseLogger } from "fastify";
import { serializerCompiler, validatorCompiler } from "fastify-type-provider-zod";
import { randomUUID } from "node:crypto";
import { keyByPrefix } from "../../application/keys/keys.ts";
import type { Platform } from "../../application/platform.ts";
import type { Config } from "../../infra/config.ts";
import type { Metrics } from "../../infra/telemetry/metrics.ts";
import type { Tracing } from "../../infra/telemetry/tracing.ts";
import { registerDocs } from "./docs.ts";
import { registerObservability } from "./observability.ts";
import { registerAuth } from "./auth.ts";
import { idempotencyRecords, registerIdempotency } from "./idempotency.ts";
import { documentRoute, finishDocument, registerContract } from "./contract.ts";
import { clientErrorHandler, frameworkErrors, registerProblemHandlers } from "./problem.ts";
import { registerJsonBody } from "./json-body.ts";
import type { Gateway } from "../../application/gateway/gateway.ts";
import { orchestratorRoutes } from "./routes/orchestrator.ts";
import { proxyRoutes } from "./routes/proxy.ts";
import { analyticsRoutes } from "./routes/analytics.ts";
import { auditRoutes } from "./routes/audit.ts";
import { billingRoutes } from "./routes/billing.ts";
import { eventRoutes } from "./routes/events.ts";
import { keyRoutes } from "./routes/keys.ts";
import { systemRoutes } from "./routes/system.ts";
import { accountRoutes } from "./routes/accounts.ts";
import { statusRoutes } from "./routes/status.ts";
import { consoleRoutes } from "../console/serve.ts";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface ApiDeps {
  platform: Platform;
  gateway: Gateway;
  adminToken: string;
  logger: FastifyBaseLogger;
  /** /system/status names the engines and the relay's topic */
  config: Config;
  /** this process's metrics: GET /metrics, the HTTP metrics */
  metrics: Metrics;
  /** set when traces are exported */
  tracing?: Tracing;
}

/** Builds the API from what the composition root resolved; never listens (apps/main.ts does, tests use app.inject). */
export async function buildApp({ platform, gateway, adminToken, logger, config, metrics, tracing }: ApiDeps) {
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: 1024 * 1024,
    // fastify's own two lines per request are off: apps/api/observability.ts writes one line per request
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // every route validates and serializes with its zod schema: fastify's default compilers (ajv,
    // fast-json-stringify) are never built, nor loaded (apps/build.mjs leaves them out of the bundle).
    // fastify types these factories with ajv's compiler signatures; it calls what they return as it
    // would a compiler given to setValidatorCompiler / setSerializerCompiler.
    schemaController: {
      compilersFactory: {
        buildValidator: () => validatorCompiler as never,
        buildSerializer: () => serializerCompiler as never,
      },
    },
    // ids are at most 128 characters, 3 bytes each once percent-encoded: longer segments reach validation (400)
    routerOptions: { maxParamLength: 1024 },
    // a `__proto__` key is dropped rather than refused: the documented loose objects (OpenAI's
    // pass-through fields) allow any key, and a dropped one can pollute nothing
    onProtoPoisoning: "remove",
    // errors before a route or a request exists answer problem+json too (apps/api/problem.ts)
    frameworkErrors,
    clientErrorHandler,
  });
  await registerObservability(app, { metrics, ...(tracing ? { tracing } : {}) });
  registerProblemHandlers(app);
  registerContract(app);
  registerJsonBody(app);

  await app.register(fastifySwagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "AI Aggregator",
        version: "1.0.0",
        description:
          "Event-sourced billing, metering and OpenAI-compatible gateway. Money is a decimal string of USD with at most 6 fraction digits. Errors are application/problem+json (RFC 9457) with a stable `code`.",
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "admin token or API key" } } },
    },
    transform: documentRoute,
    transformObject: finishDocument,
  });
  registerDocs(app);
  app.get("/openapi.json", { config: { access: "public" }, schema: { hide: true } }, async () => app.swagger());
  app.addHook("onSend", async (request, reply, payload) => {
    reply.header("x-request-id", request.id);
    return payload;
  });

  const revocations = registerAuth(app, {
    adminToken,
    findKeyByPrefix: (prefix) => keyByPrefix(platform.events, prefix),
  });
  registerIdempotency(app, idempotencyRecords(platform.reads));

  await app.register(systemRoutes, { platform, metrics });
  await app.register(keyRoutes, { platform, revocations });
  await app.register(billingRoutes, { platform });
  await app.register(analyticsRoutes, { platform });
  await app.register(orchestratorRoutes, { platform, gateway });
  await app.register(proxyRoutes, { platform, gateway });
  await app.register(eventRoutes, { platform });
  await app.register(auditRoutes, { platform });
  await app.register(accountRoutes, { platform });
  await app.register(statusRoutes, { platform, gateway, config });
  await app.register(consoleRoutes);
  return app;
}
