import { SpanKind, type Tracer } from "@opentelemetry/api";
import { performance } from "node:perf_hooks";
import type { EventPublisher } from "../kafka/publisher.ts";
import type { Metrics } from "./metrics.ts";
import { inSpan, linksTo } from "./trace-context.ts";

// The relay's publisher, measured: acknowledgement latency, records, failed batches. A batch carries
// events of many requests, so its span is a root linked to their traces; each record also carries its
// own event's `traceparent` header (infra/kafka/publisher.ts), for the consumers.

export function instrumentPublisher<P extends EventPublisher>(publisher: P, metrics: Metrics, tracer?: Tracer): P {
  const m = metrics.relay;
  const publish: EventPublisher["publish"] = async (events) => {
    const started = performance.now();
    try {
      await publisher.publish(events);
      m.published.inc(events.length);
    } catch (error) {
      m.errors.inc();
      throw error;
    } finally {
      m.publishDuration.observe((performance.now() - started) / 1000);
    }
  };
  return {
    ...publisher,
    publish: tracer
      ? (events) =>
          inSpan(
            tracer,
            `relay publish ${publisher.topic}`,
            {
              kind: SpanKind.PRODUCER,
              links: () => linksTo(events),
              attributes: () => ({
                "messaging.system": "kafka",
                "messaging.destination.name": publisher.topic,
                "messaging.batch.message_count": events.length,
              }),
            },
            () => publish(events),
          )
      : publish,
  };
}
