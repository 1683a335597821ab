import { SpanStatusCode, type Link, type Span, type SpanOptions, type Tracer } from "@opentelemetry/api";
import type { RecordedEvent } from "../../domain/events.ts";

// W3C trace context as the events carry it (metadata.traceparent) and the spans that run work.

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
/** a batch span links at most this many event traces */
const MAX_LINKS = 128;

/** the W3C `traceparent` of a span: version 00, trace id, span id, flags */
export function traceparentOf(span: Span): string {
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-${traceFlags.toString(16).padStart(2, "0")}`;
}

/** links from a batch span (projector, relay) to the distinct traces its events were decided in */
export function linksTo(events: readonly RecordedEvent[]): Link[] {
  const links = new Map<string, Link>();
  for (const event of events) {
    const match = event.metadata.traceparent ? TRACEPARENT.exec(event.metadata.traceparent) : null;
    if (!match || links.has(match[2]!)) continue;
    links.set(match[2]!, { context: { traceId: match[1]!, spanId: match[2]!, traceFlags: parseInt(match[3]!, 16), isRemote: true } });
    if (links.size >= MAX_LINKS) break;
  }
  return [...links.values()];
}

/**
 * Runs `work` inside an active span that ends when it settles. An error marks the span failed unless
 * `expected` says it is a normal outcome (a domain refusal is an answer, not a fault).
 */
export function inSpan<T>(
  tracer: Tracer,
  name: string,
  options: SpanOptions,
  work: (span: Span) => Promise<T>,
  expected: (error: unknown) => boolean = () => false,
): Promise<T> {
  return tracer.startActiveSpan(name, options, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      if (!expected(error)) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      throw error;
    } finally {
      span.end();
    }
  });
}
