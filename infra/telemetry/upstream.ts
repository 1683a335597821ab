import { SpanKind, SpanStatusCode, type Span, type Tracer } from "@opentelemetry/api";
import { performance } from "node:perf_hooks";
import { UpstreamError, type ChatProvider, type UpstreamResponse } from "../../application/gateway/provider.ts";
import { statusClass, type ModelLabels } from "./labels.ts";
import type { Metrics } from "./metrics.ts";
import { isUnsampled, parentOfHeaders, traceHeadersOf } from "./trace-context.ts";

// The upstream port, measured per provider and catalog model: requests by status class, failures by
// kind (transport, 429, 5xx), time to the response headers and to the end of the body. With tracing on,
// each call is a CLIENT span, child of the trace context the gateway hands in the request's headers (the
// HTTP request's `traceparent`, `tracestate`), and its own context replaces them, so the provider gets
// the upstream span as its parent (whatever HTTP client the adapter uses: the headers travel in the
// request, UpstreamRequest.headers).

export function instrumentProvider(provider: ChatProvider, metrics: Metrics, labels: ModelLabels, tracer?: Tracer): ChatProvider {
  const m = metrics.upstream;

  async function call(request: Parameters<ChatProvider["chatCompletions"]>[0], span?: Span): Promise<UpstreamResponse> {
    const where = labels(provider.id, request.model ?? "");
    const started = performance.now();
    /** ends the span once; with an error, counts the failure by kind */
    let open = true;
    const end = (error?: unknown) => {
      if (!open) return;
      open = false;
      if (error !== undefined) {
        const kind = error instanceof UpstreamError ? error.kind : "error";
        m.errors.inc({ ...where, kind });
        span?.setStatus({ code: SpanStatusCode.ERROR, message: kind });
      }
      span?.end();
    };
    let response: UpstreamResponse;
    try {
      response = await provider.chatCompletions(request);
    } catch (error) {
      m.requests.inc({ ...where, status_class: "none" });
      end(error);
      throw error;
    }
    m.firstByte.observe(where, (performance.now() - started) / 1000);
    m.requests.inc({ ...where, status_class: statusClass(response.status) });
    if (response.status === 429 || response.status >= 500)
      m.errors.inc({ ...where, kind: response.status === 429 ? "http_429" : "http_5xx" });
    span?.setAttribute("http.response.status_code", response.status);
    // the span ends with the body: read to its end, broken, or dropped unread (abort)
    const body = response.body;
    async function* measuredBody(): AsyncGenerator<Buffer> {
      try {
        yield* body;
        m.duration.observe(where, (performance.now() - started) / 1000);
      } catch (error) {
        end(error);
        throw error;
      } finally {
        end();
      }
    }
    return {
      ...response,
      body: measuredBody(),
      abort: () => {
        response.abort();
        end();
      },
    };
  }

  return {
    id: provider.id,
    get configured() {
      return provider.configured;
    },
    redact: (text) => provider.redact(text),
    close: () => provider.close(),
    chatCompletions(request) {
      // a dropped trace gets no span: the provider gets the request's trace headers as they are (flag 00)
      if (!tracer || isUnsampled(request.headers?.traceparent)) return call(request);
      const model = labels(provider.id, request.model ?? "").model;
      const span = tracer.startSpan(`chat ${model}`, { kind: SpanKind.CLIENT }, parentOfHeaders(request.headers));
      if (span.isRecording())
        span.setAttributes({ "gen_ai.operation.name": "chat", "gen_ai.system": provider.id, "gen_ai.request.model": model });
      return call({ ...request, headers: { ...request.headers, ...traceHeadersOf(span) } }, span);
    },
  };
}
