import { SpanKind, type Tracer } from "@opentelemetry/api";
import { performance } from "node:perf_hooks";
import type { RecordedEvent } from "../../domain/events.ts";
import type { Metrics } from "./metrics.ts";
import { inSpan, linksTo } from "./trace-context.ts";

// The projector, measured per batch (projections/projector.ts `observe`). A batch mixes events of many
// requests, so its span is a root of its own, linked to the traces the events were decided in.

export function observeProjector(metrics: Metrics, tracer?: Tracer) {
  const m = metrics.projector;
  return async (batch: RecordedEvent[], apply: () => Promise<void>): Promise<void> => {
    const started = performance.now();
    const measured = async () => {
      await apply();
      m.applied.inc(batch.length);
      m.batchDuration.observe((performance.now() - started) / 1000);
    };
    if (!tracer) return measured();
    return inSpan(
      tracer,
      "projector apply",
      {
        kind: SpanKind.CONSUMER,
        links: () => linksTo(batch),
        attributes: () => ({ "aggregator.events": batch.length, "aggregator.position": batch.at(-1)?.position ?? 0 }),
      },
      measured,
    );
  };
}
