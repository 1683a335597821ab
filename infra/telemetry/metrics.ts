import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { EventStore } from "../../domain/event-store.ts";

// The metric catalog: every metric a process exports, in one place (README "Operations" lists them).
// Naming: `aggregator_` + what + unit in base units (`_seconds`, `_bytes`, `_microusd`) + `_total` on
// counters. Labels are bounded sets only: a route is its pattern (never the raw URL), a status its code
// or class, provider and model come from the catalog ("other" otherwise), command and event types from
// the domain, refusal families from the error codes. Never a user id, key id, request id or URL.
// One registry per composition root, that is one per process; Node's own metrics (collectDefaultMetrics,
// process-wide) are appended to the exposition from a registry of their own.

const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const UPSTREAM_SECONDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const COUNTS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** Events not yet applied past `position`, and how old the oldest of them is. */
async function lagOf(events: EventStore, position: number): Promise<{ events: number; seconds: number }> {
  const head = await events.headPosition();
  if (head <= position) return { events: 0, seconds: 0 };
  const [next] = await events.readAll({ after: position, maxCount: 1 });
  const seconds = next ? Math.max(0, (Date.now() - Date.parse(next.metadata.occurredAt)) / 1000) : 0;
  return { events: head - position, seconds };
}

export function createMetrics() {
  const registry = new Registry();
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers });
  const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]) =>
    new Histogram<L>({ name, help, labelNames, buckets, registers });
  /** a gauge read at scrape time; a reading that fails leaves no series (a gauge without labels reads 0) */
  const reading = <L extends string>(name: string, help: string, labelNames: readonly L[], read: (gauge: Gauge<L>) => Promise<void>) =>
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        this.reset();
        await read(this).catch(() => this.reset());
      },
    });

  const metrics = {
    registry,
    http: {
      requests: counter("aggregator_http_requests_total", "HTTP requests answered, by route pattern and status code.", [
        "method",
        "route",
        "status",
      ]),
      duration: histogram(
        "aggregator_http_request_duration_seconds",
        "Time from receiving a request to the end of its response (a streamed completion: its last byte).",
        ["method", "route", "status_class"],
        SECONDS,
      ),
      idempotentReplays: counter(
        "aggregator_idempotency_replays_total",
        "Responses replayed for a repeated Idempotency-Key (nothing decided again).",
        ["route"],
      ),
      refusals: counter(
        "aggregator_gateway_refusals_total",
        "Requests refused by a limit: RATE_LIMIT.REQUESTS, RATE_LIMIT.TOKENS, API_KEY.BUDGET_EXCEEDED, GATEWAY.INSUFFICIENT_FUNDS.",
        ["code"],
      ),
    },
    commands: {
      total: counter(
        "aggregator_commands_total",
        "Commands handled, by outcome: ok, refused (a domain rule), conflict (gave up after retries), failed.",
        ["command", "outcome"],
      ),
      refusals: counter("aggregator_command_refusals_total", "Commands a domain rule refused, by error code family (ACCOUNT, PAYMENT…).", [
        "command",
        "family",
      ]),
      duration: histogram(
        "aggregator_command_duration_seconds",
        "Time from a command's arrival to its events being durable (queueing behind its stream included).",
        ["command", "outcome"],
        SECONDS,
      ),
      conflicts: counter(
        "aggregator_command_conflicts_total",
        "Appends refused at their expected revision (another writer moved the stream); the handler decides again, at most 5 times.",
        ["stream"],
      ),
    },
    store: {
      appendDuration: histogram("aggregator_event_store_append_duration_seconds", "Time of one append until durable.", [], SECONDS),
      appendEvents: histogram("aggregator_event_store_append_events", "Events per append.", [], COUNTS),
      commitAppends: histogram(
        "aggregator_event_store_commit_appends",
        "SQLite: appends sharing one group-commit transaction (one fsync).",
        [],
        COUNTS,
      ),
      fsyncDuration: histogram(
        "aggregator_event_store_fsync_duration_seconds",
        "SQLite: time of each group-commit COMMIT (WAL write + fsync, synchronous=FULL).",
        [],
        SECONDS,
      ),
      appended: counter("aggregator_events_appended_total", "Events appended by this process, by type.", ["type"]),
    },
    business: {
      charged: counter("aggregator_charged_microusd_total", "Usage charged (ai_usage cost) by this process, in micro-USD.", [
        "provider",
        "model",
      ]),
      tokens: counter("aggregator_usage_tokens_total", "Tokens charged by this process, by kind (prompt, completion).", [
        "provider",
        "model",
        "kind",
      ]),
      payments: counter("aggregator_payments_microusd_total", "Payments recorded by this process, in micro-USD."),
      refunds: counter("aggregator_refunds_microusd_total", "Refunds recorded by this process, in micro-USD."),
      holdsReleased: counter(
        "aggregator_holds_released_total",
        "Gateway holds released by this process, by reason (settled, failed, cancelled, expired).",
        ["reason"],
      ),
    },
    upstream: {
      requests: counter(
        "aggregator_upstream_requests_total",
        "Chat requests sent to a provider, by response status class (none: no response).",
        ["provider", "model", "status_class"],
      ),
      errors: counter(
        "aggregator_upstream_errors_total",
        "Provider failures: connect, timeout, reset, aborted, too_large (transport, before or during the body), http_429, http_5xx.",
        ["provider", "model", "kind"],
      ),
      firstByte: histogram(
        "aggregator_upstream_first_byte_duration_seconds",
        "Time from sending a chat request to the provider's response headers (a non-streamed answer: nearly all of it).",
        ["provider", "model"],
        UPSTREAM_SECONDS,
      ),
      duration: histogram(
        "aggregator_upstream_request_duration_seconds",
        "Time from sending a chat request to the end of the provider's answer body.",
        ["provider", "model"],
        UPSTREAM_SECONDS,
      ),
      anomalies: counter(
        "aggregator_upstream_anomalies_total",
        "Provider 200s refused or trimmed: non_json_event (dropped), invalid_response, credential_echo.",
        ["provider", "kind"],
      ),
    },
    projector: {
      batchDuration: histogram("aggregator_projector_batch_duration_seconds", "Time to apply one batch to every read model.", [], SECONDS),
      applied: counter("aggregator_projector_events_total", "Events the projector of this process applied."),
    },
    relay: {
      publishDuration: histogram(
        "aggregator_relay_publish_duration_seconds",
        "Time from sending a batch to the broker's acknowledgement (acks=all).",
        [],
        SECONDS,
      ),
      published: counter("aggregator_relay_published_events_total", "Records the broker acknowledged (re-sends included)."),
      errors: counter("aggregator_relay_publish_errors_total", "Batches the broker did not acknowledge (retried with backoff)."),
    },
    // Gauges read at scrape time, registered by the composition root when it builds what they read (a
    // process without a relay has no relay lag series, rather than a misleading 0).
    watchEventStore(events: EventStore) {
      reading("aggregator_event_store_head_position", "Global position of the last event.", [], async (g) =>
        g.set(await events.headPosition()),
      );
    },
    /** the live projector (in this process, or followed through its checkpoint) and the projections it feeds */
    watchProjector(events: EventStore, position: () => number, projections: string[]) {
      const labels = ["projection"] as const;
      const each = (g: Gauge<"projection">, value: number) => projections.forEach((projection) => g.set({ projection }, value));
      const shared = "All projections share one checkpoint today, so every projection shows the same value.";
      reading("aggregator_projection_position", `Global position the read models have applied. ${shared}`, labels, async (g) =>
        each(g, position()),
      );
      reading("aggregator_projection_lag_events", `Events not yet projected. ${shared}`, labels, async (g) =>
        each(g, (await lagOf(events, position())).events),
      );
      reading(
        "aggregator_projection_lag_seconds",
        `Age of the oldest event not yet projected (0 when caught up). ${shared}`,
        labels,
        async (g) => each(g, (await lagOf(events, position())).seconds),
      );
    },
    watchRelay(events: EventStore, position: () => number, topic: string) {
      const labels = ["topic"] as const;
      reading(
        "aggregator_relay_lag_events",
        "Events of the log the relay has not yet passed (acknowledged and checkpointed).",
        labels,
        async (g) => g.set({ topic }, (await lagOf(events, position())).events),
      );
      reading(
        "aggregator_relay_lag_seconds",
        "Age of the oldest event the relay has not yet passed (0 when caught up).",
        labels,
        async (g) => g.set({ topic }, (await lagOf(events, position())).seconds),
      );
    },
    watchHolds(open: () => Promise<number>) {
      reading(
        "aggregator_holds_open",
        "Gateway holds open in the read model (reserved, neither settled nor released yet).",
        [],
        async (g) => g.set(await open()),
      );
    },
    /** each provider's circuit state (one breaker per provider, for all its models) */
    watchCircuits(states: () => { provider: string; state: string }[]) {
      reading(
        "aggregator_upstream_circuit_state",
        "Circuit breaker of each provider (one for all its models): 1 for its current state (closed, open, half_open), else 0.",
        ["provider", "state"],
        async (g) => {
          for (const { provider, state } of states())
            for (const s of ["closed", "open", "half_open"]) g.set({ provider, state: s }, s === state ? 1 : 0);
        },
      );
    },
    async exposition(): Promise<string> {
      return `${await registry.metrics()}\n${await processMetrics().metrics()}`;
    },
    contentType: registry.contentType,
  };

  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;
