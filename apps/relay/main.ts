// The relay as its own app (docker-compose `relay`): event store $all → Kafka topic, on the configured
// engines. Stops on SIGINT/SIGTERM: abort, let the in-flight batch settle, close producer and stores.
// Anything published but not yet checkpointed is published again on the next start (by design).
import { ConfigError, loadConfig } from "../../infra/config.ts";
import { createKafkaPublisher } from "../../infra/kafka/publisher.ts";
import type { RelayLogger } from "../../infra/kafka/relay.ts";
import { openEventStore, openReadStore } from "../composition/container.ts";
import { startRelay } from "./start.ts";

const line = (level: string) => (fields: Record<string, unknown>, msg: string) => {
  const { err, ...rest } = fields;
  const error = err instanceof Error ? err.message : err === undefined ? undefined : String(err);
  console.log(JSON.stringify({ level, time: new Date().toISOString(), msg, ...rest, ...(error && { err: error }) }));
};
const log: RelayLogger & { error: ReturnType<typeof line> } = { info: line("info"), warn: line("warn"), error: line("error") };

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.KAFKA_BROKERS) throw new ConfigError("invalid configuration: KAFKA_BROKERS is required for the relay");
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130); // second signal: give up waiting
    log.info({ signal }, "relay: stopping");
    controller.abort();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);

  const store = await openEventStore(config);
  const readStore = await openReadStore(config);
  const publisher = createKafkaPublisher({ brokers: config.KAFKA_BROKERS.split(","), topic: config.KAFKA_TOPIC, clientId: "aggregator-relay" });
  try {
    const relay = await startRelay({ store, readStore, publisher, signal: controller.signal, log });
    await relay.done;
  } finally {
    await publisher.close().catch((err: unknown) => log.warn({ err }, "relay: producer close failed"));
    await store.close();
    await readStore.close();
  }
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(err.message);
  else log.error({ err }, "relay: fatal");
  process.exit(1);
});
