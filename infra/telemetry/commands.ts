import { SpanKind, type Tracer } from "@opentelemetry/api";
import { performance } from "node:perf_hooks";
import type { StreamCommands } from "../../application/commands/command-handler.ts";
import { ConcurrencyError } from "../../domain/event-store.ts";
import { DomainError } from "../../domain/errors.ts";
import type { Metrics } from "./metrics.ts";
import { inSpan } from "./trace-context.ts";

// The command port, measured: outcome, refusal family and latency per command type. With tracing on,
// each command of a sampled trace is a span, child of the `traceparent` its context brings (the HTTP
// request's), and its own `traceparent` replaces it in the command context, so every event it decides
// carries it in its metadata (the append's span is its child, and the relay puts it on the record). A
// command of a dropped trace makes no span and hands no traceparent on: its events record none (their
// correlationId still names the request).

type Outcome = "ok" | "refused" | "conflict" | "failed";

const outcomeOf = (error: unknown): Outcome =>
  error instanceof DomainError ? "refused" : error instanceof ConcurrencyError ? "conflict" : "failed";

export function instrumentCommands<Id, C extends { type: string }>(
  commands: StreamCommands<Id, C>,
  metrics: Metrics,
  tracer?: Tracer,
): StreamCommands<Id, C> {
  const m = metrics.commands;
  const measured: StreamCommands<Id, C>["handle"] = async (id, command, ctx) => {
    const started = performance.now();
    let outcome: Outcome = "ok";
    try {
      return await commands.handle(id, command, ctx);
    } catch (error) {
      outcome = outcomeOf(error);
      if (error instanceof DomainError) m.refusals.inc({ command: command.type, family: error.code.split(".")[0]! });
      throw error;
    } finally {
      m.total.inc({ command: command.type, outcome });
      m.duration.observe({ command: command.type, outcome }, (performance.now() - started) / 1000);
    }
  };
  if (!tracer) return { handle: measured };
  const refusal = (error: unknown) => error instanceof DomainError;
  return {
    // the span is the child of the context's traceparent (the HTTP request's) and hands on its own
    handle: (id, command, ctx) =>
      inSpan(
        tracer,
        `command ${command.type}`,
        {
          kind: SpanKind.INTERNAL,
          parent: ctx.traceparent,
          attributes: () => ({ "aggregator.command": command.type, "aggregator.correlation_id": ctx.correlationId }),
          expected: refusal,
        },
        (traceparent) => measured(id, command, { ...ctx, traceparent }),
      ),
  };
}
