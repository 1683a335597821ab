import {
  defaultTextMapGetter,
  isSpanContextValid,
  trace,
  ROOT_CONTEXT,
  SpanStatusCode,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanContext,
  type SpanKind,
  type Tracer,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import type { RecordedEvent } from "../../domain/events.ts";

// W3C trace context as it travels here: explicitly, as `traceparent` (and `tracestate`) strings in the
// command context, the events' metadata and the upstream request's headers, never through a context
// manager (tracing.ts says why). A span's parent is read from the string it is handed, and the span's
// own traceparent is what it hands on — only when the span is recorded: a trace the sampler dropped
// goes no further than the request (its log line and the provider's headers), so events record the
// traceparent of sampled traces only, and nothing is built for a dropped span (no attributes, no links).

const w3c = new W3CTraceContextPropagator();
/** a batch span links at most this many event traces */
const MAX_LINKS = 128;

/** W3C trace context headers (`traceparent`, `tracestate`): an HTTP request's, or what a span hands on */
export type TraceHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** the parent context that trace headers name; the root context when they name none (absent or invalid) */
export function parentOfHeaders(headers: TraceHeaders | undefined): Context {
  return headers?.traceparent ? w3c.extract(ROOT_CONTEXT, headers, defaultTextMapGetter) : ROOT_CONTEXT;
}

const LOWER_HEX_BYTE = /^[0-9a-f]{2}$/;

/**
 * The span context one of our own traceparents names — version 00, 55 characters, as handed on inside
 * this process (a command's context, an event's metadata) — read by slicing (one per command, one per
 * append and one per event of a projector batch: the propagator's regular expression showed in the CPU
 * profile); undefined for anything else, or an invalid one.
 */
function ownSpanContext(traceparent: string): SpanContext | undefined {
  if (traceparent.length !== 55 || !traceparent.startsWith("00-") || traceparent[35] !== "-" || traceparent[52] !== "-") return undefined;
  const flags = traceparent.slice(53);
  const context = { traceId: traceparent.slice(3, 35), spanId: traceparent.slice(36, 52), traceFlags: parseInt(flags, 16), isRemote: true };
  return LOWER_HEX_BYTE.test(flags) && isSpanContextValid(context) ? context : undefined;
}

/**
 * Whether a traceparent of ours (version 00, as our spans hand them on) names a span the sampler dropped:
 * no span is made under it. The SDK's samplers would not record one either: the parent-based ones (the
 * default) follow the parent, `traceidratio` decides by the trace id, which the parent shares, and under
 * `always_on` none of our spans is dropped.
 */
export function isUnsampled(traceparent: string | undefined): boolean {
  return traceparent?.length === 55 && (parseInt(traceparent.slice(53), 16) & 1) === 0;
}

/** The parent context a `traceparent` names; the root context when absent or invalid (anything not ours goes through the propagator). */
export function parentOf(traceparent: string | undefined): Context {
  if (!traceparent) return ROOT_CONTEXT;
  const own = ownSpanContext(traceparent);
  return own ? trace.setSpanContext(ROOT_CONTEXT, own) : parentOfHeaders({ traceparent });
}

/** the W3C `traceparent` of a span: version 00, trace id, span id, flags */
export function traceparentOf(span: Span): string {
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-${traceFlags.toString(16).padStart(2, "0")}`;
}

/** the W3C headers that make `span` the parent of a request: traceparent, and tracestate when there is one */
export function traceHeadersOf(span: Span): Record<string, string> {
  const state = span.spanContext().traceState?.serialize();
  return state ? { traceparent: traceparentOf(span), tracestate: state } : { traceparent: traceparentOf(span) };
}

/** links from a batch span (projector, relay) to the distinct traces its events were decided in */
export function linksTo(events: readonly RecordedEvent[]): Link[] {
  const links = new Map<string, Link>();
  for (const event of events) {
    const context = event.metadata.traceparent ? ownSpanContext(event.metadata.traceparent) : undefined;
    if (!context || links.has(context.spanId)) continue;
    links.set(context.spanId, { context });
    if (links.size >= MAX_LINKS) break;
  }
  return [...links.values()];
}

export interface SpanOf {
  kind: SpanKind;
  /** the traceparent the work was handed (none: a root span) */
  parent?: string | undefined;
  /** built only when the span is recorded */
  attributes?: () => Attributes;
  /** built only when the span is recorded */
  links?: () => Link[];
  /** an error that is a normal outcome (a domain refusal is an answer, not a fault): the span is not marked failed */
  expected?: (error: unknown) => boolean;
}

/**
 * Runs `work` with a span, child of `parent`, that ends when the work settles; the work gets the span's
 * traceparent to hand on. Under a dropped parent, or when the sampler drops the span, the work runs alone
 * and gets none: no span, no attributes, no links, no extra promise around the work.
 */
export function inSpan<T>(
  tracer: Tracer,
  name: string,
  options: SpanOf,
  work: (traceparent: string | undefined) => Promise<T>,
): Promise<T> {
  if (isUnsampled(options.parent)) return work(undefined);
  const span = tracer.startSpan(name, { kind: options.kind }, parentOf(options.parent));
  return span.isRecording() ? recorded(span, options, work) : work(undefined);
}

async function recorded<T>(span: Span, options: SpanOf, work: (traceparent: string) => Promise<T>): Promise<T> {
  if (options.attributes) span.setAttributes(options.attributes());
  if (options.links) span.addLinks(options.links());
  try {
    return await work(traceparentOf(span));
  } catch (error) {
    if (!options.expected?.(error)) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    throw error;
  } finally {
    span.end();
  }
}
