import FastifyOtel from "@fastify/otel";
import type { Tracer } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import type { FastifyPluginCallback } from "fastify";

// Traces, on only when OTEL_EXPORTER_OTLP_ENDPOINT is set (the composition root does not even load this
// module otherwise). Spans go in batches to `<endpoint>/v1/traces` as OTLP/JSON. No module patching and
// no --import loader: the incoming W3C `traceparent` is read by @fastify/otel (a plain fastify plugin),
// and the other spans (command, append, upstream call, projector batch, relay publish) are made by the
// decorators of infra/telemetry at the ports, which also inject `traceparent` into upstream requests.
// Pitfall: the SDK's provider must be shut down (it flushes the last batch); the composition root does
// that when it closes.

declare module "fastify" {
  interface FastifyRequest {
    /** the request's trace id, for its log line ("" when tracing is off) */
    traceId: string;
  }
}

export interface Tracing {
  tracer: Tracer;
  /** registered first on the API (after decorateRequest("traceId")): a SERVER span per request, named "METHOD /route", parented by `traceparent` */
  fastifyPlugin: FastifyPluginCallback;
  shutdown(): Promise<void>;
}

/** the context manager (AsyncLocalStorage) and the W3C propagator are process-wide: registered once */
let registered = false;

export function startTracing(endpoint: string, serviceName: string): Tracing {
  const exporter = new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, "")}/v1/traces`, timeoutMillis: 3_000 });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  if (!registered) {
    provider.register();
    registered = true;
  }
  const fastify = new FastifyOtel.FastifyOtelInstrumentation({
    instrumentHooks: false, // one span per request and one for its handler, not one per hook
    requestHook: (span, request) => {
      span.updateName(`${request.method} ${request.routeOptions.url ?? "unmatched"}`);
      request.traceId = span.spanContext().traceId;
    },
  });
  fastify.setTracerProvider(provider);
  return {
    tracer: provider.getTracer("ai-aggregator"),
    fastifyPlugin: fastify.plugin(),
    shutdown: () => provider.shutdown(),
  };
}
