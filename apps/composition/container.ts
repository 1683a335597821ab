import "reflect-metadata";
import type { FastifyInstance } from "fastify";
import pino, { type DestinationStream, type Logger } from "pino";
import { container, instanceCachingFactory, type InjectionToken } from "tsyringe";
import { createCommandHandler, type CommandHandler } from "../../application/commands/command-handler.ts";
import type { Gateway, GatewayOptions } from "../../application/gateway/gateway.ts";
import type { ChatProvider } from "../../application/gateway/provider.ts";
import { leased } from "../../application/cluster/lease.ts";
import type { Platform } from "../../application/platform.ts";
import type { OpenTopic } from "../../application/replay/topic-replay.ts";
import { accountDecider } from "../../domain/account.ts";
import { analyticsDecider } from "../../domain/analytics.ts";
import { apiKeyDecider } from "../../domain/api-key.ts";
import { apiKeyNameStream, keyNameDecider } from "../../domain/api-key-name.ts";
import type { Catalog } from "../../domain/catalog.ts";
import type { EventStore } from "../../domain/event-store.ts";
import { accountStream, analyticsStream, apiKeyStream } from "../../domain/events.ts";
import { loadCatalog } from "../../infra/catalog/load.ts";
import { ConfigError, type Config } from "../../infra/config.ts";
import type { KafkaPublisher } from "../../infra/kafka/publisher.ts";
import { instrumentCommands } from "../../infra/telemetry/commands.ts";
import { instrumentEventStore } from "../../infra/telemetry/event-store.ts";
import { catalogLabels, type ModelLabels } from "../../infra/telemetry/labels.ts";
import { serveMetrics, type MetricsServer } from "../../infra/telemetry/metrics-server.ts";
import { createMetrics, type Metrics } from "../../infra/telemetry/metrics.ts";
import { observeProjector } from "../../infra/telemetry/projector.ts";
import { instrumentPublisher } from "../../infra/telemetry/relay.ts";
import type { Tracing } from "../../infra/telemetry/tracing.ts";
import { holds } from "../../projections/holds.ts";
import { allProjections } from "../../projections/index.ts";
import { startProjector, watchProjector, type ProjectorHandle } from "../../projections/projector-handle.ts";
import type { ReadStore } from "../../projections/read-store.ts";
import type { BackgroundWorker } from "../projector/supervisor.ts";
import type { StartedRelay } from "../relay/start.ts";
import { adminTokenOf, openEventStore, openReadStore, type AdminToken } from "./engines.ts";

// The composition root: the one place where adapters are chosen and things are built. tsyringe holds one
// factory per typed token, each a singleton of its container (instanceCachingFactory), built on first
// resolve; no decorators (esbuild, used by tsx and vitest, emits no decorator metadata). A program
// composes a root from its configuration, resolves what it needs once at its edge and passes plain
// objects down. Tokens whose value needs I/O to build hold a Promise. close() stops and closes what was
// built, the last built first: the API before the gateway, the projector and the relay, the stores last.

export interface ComposeOptions {
  /** false: follow the checkpoint of a projector in another process instead of running one here */
  projector?: boolean;
  /** the projector (RUN_PROJECTOR) and the relay (KAFKA_BROKERS) run in a worker thread of this process
   * (`npm start`; resolve TOKENS.background), not on its event loop */
  background?: boolean;
  /** with `background`: the thread starts once this resolves (default: at once) */
  backgroundStarts?: Promise<unknown>;
  /** with `background`: a thread silent for this long is replaced (default 10 s; tests shorten it) */
  backgroundHungAfterMs?: number;
  /** the clock, ISO-8601 UTC (tests fix it) */
  now?: () => string;
  /** where log lines go (default: stdout) */
  logStream?: DestinationStream;
  /** gateway settings (tests shorten its timeouts) */
  gateway?: Partial<GatewayOptions>;
  /** the Kafka client id of this program's producer */
  clientId?: string;
  /** how long the live projector waits for more events after a small batch (default projector.ts LINGER_MS; tests lengthen it) */
  projectorLingerMs?: number;
  /** the service name on this program's traces (default "ai-aggregator") */
  service?: string;
}

/** one line when this process becomes the active worker of a lease, or stops being it */
const leaseLog = (logger: Logger, worker: string) => (held: boolean, epoch: number) =>
  logger.info({ worker, epoch }, held ? `${worker}: active (lease taken)` : `${worker}: lease given back`);

const token = <T>(name: string) => Symbol(name) as InjectionToken<T>;

/** never in a log line: credentials, idempotency keys, cookies, and what users send to models */
const REDACTED = [
  "req.headers.authorization",
  'req.headers["x-api-key"]',
  'req.headers["idempotency-key"]',
  "req.headers.cookie",
  'res.headers["set-cookie"]',
  "*.authorization",
  "*.apiKey",
  "*.secret",
  "*.password",
  "*.token",
  "*.key",
  "*.messages",
  "*.prompt",
];

export const TOKENS = {
  config: token<Config>("Config"),
  logger: token<Logger>("Logger"),
  /** this process's metrics (one registry per root) and the readings its /metrics takes at scrape time */
  metrics: token<Metrics>("Metrics"),
  /** traces, when OTEL_EXPORTER_OTLP_ENDPOINT is set; undefined otherwise */
  tracing: token<Promise<Tracing | undefined>>("Tracing"),
  /** GET /metrics on METRICS_PORT (the projector and relay apps); undefined when unset */
  metricsServer: token<Promise<MetricsServer | undefined>>("MetricsServer"),
  now: token<() => string>("Clock"),
  catalog: token<Catalog>("Catalog"),
  adminToken: token<AdminToken>("AdminToken"),
  events: token<Promise<EventStore>>("EventStore"),
  reads: token<Promise<ReadStore>>("ReadStore"),
  commands: token<Promise<CommandHandler>>("CommandHandler"),
  projector: token<Promise<ProjectorHandle>>("ProjectorHandle"),
  /** what the use cases share: stores, bound command handlers, projector, catalog, clock */
  platform: token<Promise<Platform>>("Platform"),
  providers: token<Promise<Map<string, ChatProvider>>>("ChatProviders"),
  gateway: token<Promise<Gateway>>("Gateway"),
  /** the fastify instance, ready to listen or to inject */
  api: token<Promise<FastifyInstance>>("Api"),
  publisher: token<Promise<KafkaPublisher>>("KafkaPublisher"),
  relay: token<Promise<StartedRelay>>("Relay"),
  /** with `background`: the worker thread running the projector and the relay (undefined: neither runs) */
  background: token<Promise<BackgroundWorker | undefined>>("BackgroundWorker"),
  openTopic: token<OpenTopic>("OpenTopic"),
};

export function compose(config: Config, options: ComposeOptions = {}) {
  const scope = container.createChildContainer();
  const closers: (() => Promise<unknown>)[] = [];
  let closed: Promise<void> | undefined;
  const get = <T>(t: InjectionToken<T>): T => scope.resolve(t);
  /** registers the factory of a singleton; `close` runs at close(), in reverse order of building */
  function bind<T>(t: InjectionToken<T | Promise<T>>, build: () => T | Promise<T>, close?: (value: T) => unknown) {
    scope.register(t, {
      useFactory: instanceCachingFactory(() => {
        const built = build();
        if (close)
          void Promise.resolve(built).then(
            (value) => closers.push(async () => close(value)),
            () => undefined,
          );
        return built;
      }),
    });
  }
  let labels: ModelLabels | undefined;
  const modelLabels = () => (labels ??= catalogLabels(get(TOKENS.catalog)));
  const tracer = async () => (await get(TOKENS.tracing))?.tracer;
  const kafka = () => {
    if (!config.KAFKA_BROKERS) throw new ConfigError("invalid configuration: KAFKA_BROKERS is required for the topic");
    return { brokers: config.KAFKA_BROKERS.split(","), topic: config.KAFKA_TOPIC };
  };

  bind(TOKENS.config, () => config);
  bind(TOKENS.logger, () => {
    const settings = { level: config.LOG_LEVEL, redact: { paths: REDACTED, censor: "[redacted]" } };
    return options.logStream ? pino(settings, options.logStream) : pino(settings);
  });
  bind(TOKENS.metrics, () => createMetrics());
  bind(
    TOKENS.tracing,
    async () =>
      config.OTEL_EXPORTER_OTLP_ENDPOINT
        ? (await import("../../infra/telemetry/tracing.ts")).startTracing(
            config.OTEL_EXPORTER_OTLP_ENDPOINT,
            options.service ?? "ai-aggregator",
          )
        : undefined,
    (tracing) => tracing?.shutdown(), // closed last but the stores: flushes the spans of the shutdown too
  );
  bind(
    TOKENS.metricsServer,
    async () => (config.METRICS_PORT === undefined ? undefined : serveMetrics(get(TOKENS.metrics), config.METRICS_PORT, config.HOST)),
    (server) => server?.close(),
  );
  bind(TOKENS.now, () => options.now ?? (() => new Date().toISOString()));
  bind(TOKENS.catalog, () => loadCatalog());
  bind(TOKENS.adminToken, () => adminTokenOf(config));
  bind(
    TOKENS.events,
    async () => {
      const metrics = get(TOKENS.metrics);
      const { commitAppends, fsyncDuration } = metrics.store;
      const store = await openEventStore(config, {
        onCommit(appends, seconds) {
          commitAppends.observe(appends);
          fsyncDuration.observe(seconds);
        },
      });
      metrics.watchEventStore(store);
      return instrumentEventStore(store, metrics, modelLabels(), await tracer());
    },
    (events) => events.close(),
  );
  bind(
    TOKENS.reads,
    () => openReadStore(config),
    (reads) => reads.close(),
  );
  bind(TOKENS.commands, async () => createCommandHandler(await get(TOKENS.events)));
  bind(
    TOKENS.projector,
    async () => {
      const [events, reads] = await Promise.all([get(TOKENS.events), get(TOKENS.reads)]);
      const metrics = get(TOKENS.metrics);
      const logger = get(TOKENS.logger);
      const projections = allProjections.map((p) => p.name);
      let projector: ProjectorHandle;
      if (options.projector === false || !config.RUN_PROJECTOR) projector = watchProjector(events, reads);
      else if (options.background) projector = (await get(TOKENS.background))!.projector;
      else {
        const lease = leased(reads, {
          name: "projector",
          onChange: leaseLog(logger, "projector"),
          onError: (err) => logger.warn({ err }, "projector lease"),
        });
        projector = await startProjector(
          events,
          reads,
          allProjections,
          (err) => logger.error({ err }, "projector failed, retrying"),
          lease,
          observeProjector(metrics, await tracer()),
          options.projectorLingerMs,
        );
      }
      metrics.watchProjector(events, () => projector.position(), projections);
      return projector;
    },
    (projector) => projector.stop(),
  );
  bind(TOKENS.platform, async () => {
    const [events, reads, commands, projector] = await Promise.all([
      get(TOKENS.events),
      get(TOKENS.reads),
      get(TOKENS.commands),
      get(TOKENS.projector),
    ]);
    const metrics = get(TOKENS.metrics);
    const traced = await tracer();
    metrics.watchHolds(() => holds(reads).count({ status: "open" }));
    return {
      events,
      reads,
      projector,
      accounts: instrumentCommands(commands.for(accountDecider, accountStream), metrics, traced),
      apiKeys: instrumentCommands(commands.for(apiKeyDecider, apiKeyStream), metrics, traced),
      keyNames: instrumentCommands(commands.for(keyNameDecider, apiKeyNameStream), metrics, traced),
      analytics: instrumentCommands(commands.for(analyticsDecider, analyticsStream), metrics, traced),
      catalog: get(TOKENS.catalog),
      now: get(TOKENS.now),
    };
  });
  // the gateway, its providers (undici) and its request schemas (zod) load when the API resolves them:
  // npm start's projector thread and the projector, relay and CLI programs do not pay for them
  bind(TOKENS.providers, async () => (await import("../../infra/providers/index.ts")).providersFromConfig(config));
  bind(
    TOKENS.gateway,
    async () => {
      const logger = get(TOKENS.logger);
      const metrics = get(TOKENS.metrics);
      const traced = await tracer();
      const [{ createGateway }, { instrumentProvider }] = await Promise.all([
        import("../../application/gateway/gateway.ts"),
        import("../../infra/telemetry/upstream.ts"),
      ]);
      const providers = new Map(
        [...(await get(TOKENS.providers))].map(([id, provider]) => [id, instrumentProvider(provider, metrics, modelLabels(), traced)]),
      );
      const gateway = createGateway(await get(TOKENS.platform), providers, {
        ...options.gateway,
        onError: (err, what) => logger.error({ err }, `gateway ${what}`),
        onWarn: (message, fields) => logger.warn(fields, `gateway ${message}`),
        onAnomaly: (provider, kind) => metrics.upstream.anomalies.inc({ provider, kind }),
      });
      metrics.watchCircuits(() => [...providers.keys()].map((provider) => ({ provider, state: gateway.breaker(provider).state })));
      return gateway;
    },
    (gateway) => gateway.close(),
  );
  bind(
    TOKENS.api,
    async () =>
      // loaded when resolved: the projector, relay and CLI programs do not pay for fastify and the console
      (await import("../api/app.ts")).buildApp({
        platform: await get(TOKENS.platform),
        gateway: await get(TOKENS.gateway),
        adminToken: get(TOKENS.adminToken).token,
        logger: get(TOKENS.logger),
        config,
        metrics: get(TOKENS.metrics),
        tracing: await get(TOKENS.tracing),
      }),
    (app) => app.close(),
  );
  bind(
    TOKENS.publisher,
    async () =>
      instrumentPublisher(
        (await import("../../infra/kafka/publisher.ts")).createKafkaPublisher({
          ...kafka(),
          clientId: options.clientId ?? "ai-aggregator",
        }),
        get(TOKENS.metrics),
        await tracer(),
      ),
    (publisher) => publisher.close(),
  );
  const stopRelay = new AbortController();
  bind(
    TOKENS.relay,
    async () => {
      const [store, readStore, publisher] = await Promise.all([get(TOKENS.events), get(TOKENS.reads), get(TOKENS.publisher)]);
      const relay = await (
        await import("../relay/start.ts")
      ).startRelay({
        store,
        readStore,
        publisher,
        signal: stopRelay.signal,
        log: get(TOKENS.logger),
        onLease: leaseLog(get(TOKENS.logger), "relay"),
      });
      get(TOKENS.metrics).watchRelay(store, () => relay.stats.lastPosition, publisher.topic);
      return relay;
    },
    async (relay) => {
      stopRelay.abort();
      await relay.done;
    },
  );
  bind(
    TOKENS.background,
    async () => {
      if (!options.background || !(config.RUN_PROJECTOR || config.KAFKA_BROKERS)) return undefined;
      const [events, reads] = await Promise.all([get(TOKENS.events), get(TOKENS.reads)]);
      return (await import("../projector/supervisor.ts")).startBackgroundWorker(config, events, reads, get(TOKENS.logger), {
        begin: options.backgroundStarts,
        hungAfterMs: options.backgroundHungAfterMs,
        ...(options.projectorLingerMs === undefined ? {} : { lingerMs: options.projectorLingerMs }),
      });
    },
    (background) => background?.stop(),
  );
  bind(TOKENS.openTopic, () => {
    const { brokers, topic } = kafka();
    return async (o) => (await import("../../infra/kafka/topic-stream.ts")).openTopicStream({ brokers, topic, ...o });
  });

  return {
    config,
    resolve: get,
    /** stops and closes everything built, the last built first; once */
    close(): Promise<void> {
      stopRelay.abort(); // a relay still waiting for its topic stops waiting
      closed ??= (async () => {
        while (closers.length > 0) await closers.pop()!();
        await scope.dispose();
      })();
      return closed;
    },
  };
}

export type Root = ReturnType<typeof compose>;
