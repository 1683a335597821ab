import type { FastifyInstance } from "fastify";
import { statusClass } from "../../infra/telemetry/labels.ts";
import type { Metrics } from "../../infra/telemetry/metrics.ts";
import type { Tracing } from "../../infra/telemetry/tracing.ts";
import { problemCodeOf } from "./problem.ts";

// Per request: one log line at info, the HTTP metrics, and (tracing on) a SERVER span parented by the
// caller's `traceparent`. Registered before every other hook and route, so the span covers them all.
// The log line carries who and what, never a secret: method, route pattern, status, duration, request
// id (`reqId`), the actor (`admin` or the key id), for an API key its user and public prefix, the error
// code of a problem answer and the trace id. No URL (its query may carry user ids), no header, no body.

const LIMIT_REFUSALS = new Set(["RATE_LIMIT.REQUESTS", "RATE_LIMIT.TOKENS", "API_KEY.BUDGET_EXCEEDED", "GATEWAY.INSUFFICIENT_FUNDS"]);

export async function registerObservability(app: FastifyInstance, { metrics, tracing }: { metrics: Metrics; tracing?: Tracing }) {
  if (tracing) {
    app.decorateRequest("traceId", "");
    await app.register(tracing.fastifyPlugin);
  }
  const { http } = metrics;
  app.addHook("onResponse", async (request, reply) => {
    const { method } = request;
    const route = request.routeOptions.url ?? "unmatched";
    const status = reply.statusCode;
    http.requests.inc({ method, route, status });
    http.duration.observe({ method, route, status_class: statusClass(status) }, reply.elapsedTime / 1000);
    const code = problemCodeOf(reply);
    if (code && LIMIT_REFUSALS.has(code)) http.refusals.inc({ code });
    if (reply.getHeader("idempotent-replayed") === "true") http.idempotentReplays.inc({ route });
    const p = request.principal;
    request.log.info(
      {
        method,
        route,
        status,
        ms: Math.round(reply.elapsedTime * 100) / 100,
        ...(p?.kind === "user" ? { userId: p.userId, keyPrefix: p.keyPrefix } : {}),
        ...(code ? { code } : {}),
        ...(request.traceId ? { traceId: request.traceId } : {}),
      },
      "request",
    );
  });
}
