import type { FastifyInstance } from "fastify";
import { statusClass } from "../../infra/telemetry/labels.ts";
import type { Metrics } from "../../infra/telemetry/metrics.ts";
import type { RequestSpan, Tracing } from "../../infra/telemetry/tracing.ts";
import { problemCodeOf } from "./problem.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** the request's trace id, for its log line ("" when tracing is off) */
    traceId: string;
    /** the W3C trace context of the request's server span (traceparent, tracestate), handed explicitly to its
     * commands and its upstream call (no context manager runs); null when tracing is off */
    trace: Readonly<Record<string, string>> | null;
    /** the request's server span, ended with its answer; null when tracing is off */
    serverSpan: RequestSpan | null;
  }
}

// Per request: one log line at info, the HTTP metrics, and (tracing on) a SERVER span parented by the
// caller's `traceparent`. Registered before every other hook and route, so the span covers them all.
// The log line carries who and what, never a secret: method, route pattern, status, duration, request
// id (`reqId`), the actor (`admin` or the key id), for an API key its user and public prefix, the error
// code of a problem answer and the trace id. No URL (its query may carry user ids), no header, no body.

const LIMIT_REFUSALS = new Set(["RATE_LIMIT.REQUESTS", "RATE_LIMIT.TOKENS", "API_KEY.BUDGET_EXCEEDED", "GATEWAY.INSUFFICIENT_FUNDS"]);

export async function registerObservability(app: FastifyInstance, { metrics, tracing }: { metrics: Metrics; tracing?: Tracing }) {
  app.decorateRequest("traceId", "");
  app.decorateRequest("trace", null);
  app.decorateRequest("serverSpan", null);
  if (tracing)
    app.addHook("onRequest", (request, _reply, done) => {
      const span = tracing.requestSpan(request.method, request.routeOptions.url ?? "unmatched", request.headers);
      request.serverSpan = span;
      request.traceId = span.traceId;
      request.trace = span.trace;
      done();
    });
  const { http } = metrics;
  app.addHook("onResponse", async (request, reply) => {
    const { method } = request;
    const route = request.routeOptions.url ?? "unmatched";
    const status = reply.statusCode;
    request.serverSpan?.end(status, route);
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
