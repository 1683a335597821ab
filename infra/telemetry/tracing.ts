import { isSpanContextValid, SpanKind, SpanStatusCode, trace, TraceFlags, type Tracer } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor, type IdGenerator } from "@opentelemetry/sdk-trace-base";
import { randomBytes } from "node:crypto";
import { parentOfHeaders, traceHeadersOf, type TraceHeaders } from "./trace-context.ts";

// Traces, on only when OTEL_EXPORTER_OTLP_ENDPOINT is set (the composition root does not even load this
// module otherwise). Spans go in batches to `<endpoint>/v1/traces` as OTLP/JSON; which traces are kept is
// the SDK's sampler, from OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (default parentbased_always_on).
// No module patching, no --import loader and no context manager: the provider is never register()ed, so
// no AsyncLocalStorage runs (on Node 20 an active one adds a promise hook to every await of the process,
// which cost 12–17 % of the throughput even with no trace sampled; BENCHMARKS.md). The trace context is
// passed explicitly, as W3C `traceparent` strings: the API's hooks start the request's SERVER span
// (requestSpan) and give its traceparent to the command context and the upstream call; the decorators of
// infra/telemetry at the ports make the other spans (command, append, upstream call, projector batch,
// relay publish) as children of the traceparent they are handed. Pitfall: the provider must be shut down
// (it flushes the last batch); the composition root does that when it closes.

/** the SERVER span of one HTTP request, as the API's hooks hold it */
export interface RequestSpan {
  /** the trace id, for the request's log line */
  readonly traceId: string;
  /** the span's W3C trace headers (traceparent, tracestate): the parent of what the request does (commands, upstream call) */
  readonly trace: Readonly<Record<string, string>>;
  /** ends the span with the answer's status and the matched route */
  end(status: number, route: string): void;
}

export interface Tracing {
  tracer: Tracer;
  /** a SERVER span per request, named "METHOD /route", child of the caller's `traceparent` (and `tracestate`) header */
  requestSpan(method: string, route: string, headers: TraceHeaders): RequestSpan;
  shutdown(): Promise<void>;
}

/**
 * The SDK's tracer, minus its work for a span whose parent was not sampled, when the sampler follows the
 * parent's decision (every sampler but always_on and traceidratio: such a span is never recorded): the span
 * is the parent's context, handed on as it came (no ids drawn, no sampler run, nothing allocated but a
 * non-recording span). With one trace in ten sampled, that is every span of nine requests in ten.
 */
export function skippingUnsampled(tracer: Tracer, sampler: string | undefined): Tracer {
  if (sampler === "always_on" || sampler === "traceidratio") return tracer;
  return {
    startSpan(name, options, context) {
      const parent = context && !options?.root ? trace.getSpanContext(context) : undefined;
      if (parent && !(parent.traceFlags & TraceFlags.SAMPLED) && isSpanContextValid(parent)) return trace.wrapSpanContext(parent);
      return tracer.startSpan(name, options, context);
    },
    startActiveSpan: tracer.startActiveSpan.bind(tracer),
  };
}

const ZERO_IDS = new Set(["0".repeat(16), "0".repeat(32)]);

/**
 * Trace and span ids cut from a pool of crypto random bytes hex-encoded 4 KiB at a time: a string slice
 * per id, where the SDK's RandomIdGenerator draws Math.random, writes a buffer and hex-encodes it for each
 * (two ids per request even when its trace is dropped; ~4× the CPU, BENCHMARKS.md). All-zero ids are
 * invalid (W3C) and skipped. `random` is for tests.
 */
export function pooledIds(random: (bytes: number) => Buffer = randomBytes): IdGenerator {
  let hex = "";
  let at = 0;
  const take = (chars: number): string => {
    for (;;) {
      if (at + chars > hex.length) {
        hex = random(4096).toString("hex");
        at = 0;
      }
      const id = hex.slice(at, (at += chars));
      if (!ZERO_IDS.has(id)) return id;
    }
  };
  return { generateTraceId: () => take(32), generateSpanId: () => take(16) };
}

export function startTracing(endpoint: string, serviceName: string): Tracing {
  const exporter = new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, "")}/v1/traces`, timeoutMillis: 3_000 });
  // a plain provider, never register()ed: no global context manager, no global propagator
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
    idGenerator: pooledIds(),
  });
  // the sampler is the SDK's, from OTEL_TRACES_SAMPLER (a blank value is unset, as the SDK reads it)
  const tracer = skippingUnsampled(provider.getTracer("ai-aggregator"), process.env.OTEL_TRACES_SAMPLER?.trim() || undefined);
  return {
    tracer,
    requestSpan(method, route, headers) {
      const span = tracer.startSpan(`${method} ${route}`, { kind: SpanKind.SERVER }, parentOfHeaders(headers));
      return {
        traceId: span.spanContext().traceId,
        trace: traceHeadersOf(span),
        end(status, matched) {
          if (span.isRecording()) {
            span.setAttributes({ "http.request.method": method, "http.route": matched, "http.response.status_code": status });
            if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
          }
          span.end();
        },
      };
    },
    shutdown: () => provider.shutdown(),
  };
}
