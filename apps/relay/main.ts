// The relay as its own app (docker-compose `relay`): event store $all → Kafka topic, on the configured
// engines. Stops on SIGINT/SIGTERM: abort, let the in-flight batch settle, close producer and stores.
// Anything published but not yet checkpointed is published again on the next start (by design).
// With METRICS_PORT set it serves GET /metrics there (its lag, publish latency and errors).
import { ConfigError, loadConfig } from "../../infra/config.ts";
import { compose, TOKENS } from "../composition/container.ts";

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.KAFKA_BROKERS) throw new ConfigError("invalid configuration: KAFKA_BROKERS is required for the relay");
  const root = compose(config, { clientId: "aggregator-relay", service: "ai-aggregator-relay" });
  const log = root.resolve(TOKENS.logger);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130); // second signal: give up waiting
    stopping = true;
    log.info({ signal }, "relay: stopping");
    void root.close();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  try {
    const metrics = await root.resolve(TOKENS.metricsServer);
    if (metrics) log.info({ metricsPort: metrics.port }, "relay: metrics on GET /metrics");
    const relay = await root.resolve(TOKENS.relay);
    await relay.done;
  } catch (err) {
    log.error({ err }, "relay: fatal");
    process.exitCode = 1;
  } finally {
    await root.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
