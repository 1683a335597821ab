import { SpanKind, type Tracer } from "@opentelemetry/api";
import { performance } from "node:perf_hooks";
import { ConcurrencyError, type EventStore } from "../../domain/event-store.ts";
import type { NewEvent } from "../../domain/events.ts";
import { streamKind, type ModelLabels } from "./labels.ts";
import type { Metrics } from "./metrics.ts";
import { inSpan } from "./trace-context.ts";

// The event store port, measured: append latency and size, conflicts, and what was appended (events by
// type, charges, payments, refunds, released holds). Counted once the append is durable; an idempotent
// re-append of the same events is counted again (rare: a retry that slipped past the Idempotency-Key).

export function instrumentEventStore(store: EventStore, metrics: Metrics, labels: ModelLabels, tracer?: Tracer): EventStore {
  const { store: m, business, commands } = metrics;

  function count(events: NewEvent[]) {
    for (const event of events) {
      m.appended.inc({ type: event.type });
      switch (event.type) {
        case "ai_usage": {
          const { provider, model, cost, promptTokens, completionTokens } = event.data;
          const where = labels(provider, model);
          business.charged.inc(where, cost);
          business.tokens.inc({ ...where, kind: "prompt" }, promptTokens);
          business.tokens.inc({ ...where, kind: "completion" }, completionTokens);
          break;
        }
        case "payment_processed":
          business.payments.inc(event.data.amount);
          break;
        case "payment_refunded":
          business.refunds.inc(event.data.amount);
          break;
        case "usage_released":
          business.holdsReleased.inc({ reason: event.data.reason });
          break;
      }
    }
  }

  async function append(...[stream, events, expected, lastEventId]: Parameters<EventStore["append"]>) {
    const started = performance.now();
    try {
      const result = await store.append(stream, events, expected, lastEventId);
      count(events);
      return result;
    } catch (error) {
      if (error instanceof ConcurrencyError) commands.conflicts.inc({ stream: streamKind(stream) });
      throw error;
    } finally {
      m.appendDuration.observe((performance.now() - started) / 1000);
      m.appendEvents.observe(events.length);
    }
  }

  // every other method passes through as it is (the stores are plain objects, no `this`): a decorator that
  // listed them one by one dropped the optional ones (checkWritable: /ready then missed a full disk)
  return {
    ...store,
    // the span's parent is the traceparent of the first event that has one: the command that decided it
    // (the handler appends the commands waiting on a stream together: one append, one span, under the
    // first command of a sampled trace); events without one belong to no sampled trace: no span
    append: tracer
      ? (stream, events, expected, lastEventId) => {
          const parent = events.find((e) => e.metadata.traceparent !== undefined)?.metadata.traceparent;
          if (parent === undefined) return append(stream, events, expected, lastEventId);
          return inSpan(
            tracer,
            "event_store.append",
            {
              kind: SpanKind.CLIENT,
              parent,
              attributes: () => ({ "aggregator.stream_kind": streamKind(stream), "aggregator.events": events.length }),
              expected: (error) => error instanceof ConcurrencyError,
            },
            () => append(stream, events, expected, lastEventId),
          );
        }
      : append,
  };
}
