// Standalone relay: SQLite event store → Kafka topic. `tsx apps/relay/main.ts`
// Stops on SIGINT/SIGTERM: abort, let the in-flight batch settle, close producer and stores.
// Anything published but not yet checkpointed is published again on the next start (by design).
import { join } from "node:path";
import { z } from "zod";
import { createKafkaPublisher } from "../../infra/kafka/publisher.ts";
import type { RelayLogger } from "../../infra/kafka/relay.ts";
import { openSqliteEventStore } from "../../infra/sqlite/event-store.ts";
import { openSqliteReadStore } from "../../infra/sqlite/read-store.ts";
import { startRelay } from "./start.ts";

// TODO: switch to infra/config.ts (loadConfig) once the composition root settles.
const envSchema = z.object({
  KAFKA_BROKERS: z.string({ error: "is required" }).regex(/^[^\s,]+:\d+(,[^\s,]+:\d+)*$/, "must be host:port[,host:port...]"),
  KAFKA_TOPIC: z.string().min(1).default("aggregator.events"),
  KAFKA_CLIENT_ID: z.string().min(1).default("aggregator-relay"),
  DATA_DIR: z.string().min(1).default("./data"),
  RELAY_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(200),
});

const line = (level: string) => (fields: Record<string, unknown>, msg: string) => {
  const { err, ...rest } = fields;
  const error = err instanceof Error ? err.message : err === undefined ? undefined : String(err);
  console.log(JSON.stringify({ level, time: new Date().toISOString(), msg, ...rest, ...(error && { err: error }) }));
};
const log: RelayLogger & { error: ReturnType<typeof line> } = {
  info: line("info"),
  warn: line("warn"),
  error: line("error"),
};

async function main(): Promise<void> {
  const parsed = envSchema.safeParse(
    Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined && v !== "")),
  );
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    console.error(`invalid configuration: ${issue.path.join(".")}: ${issue.message}`);
    process.exit(1);
  }
  const env = parsed.data;

  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130); // second signal: give up waiting
    log.info({ signal }, "relay: stopping");
    controller.abort();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);

  const store = openSqliteEventStore(join(env.DATA_DIR, "events.db"));
  const readStore = openSqliteReadStore(join(env.DATA_DIR, "read.db"));
  const publisher = createKafkaPublisher({
    brokers: env.KAFKA_BROKERS.split(","),
    topic: env.KAFKA_TOPIC,
    clientId: env.KAFKA_CLIENT_ID,
  });
  try {
    const relay = await startRelay({
      store, readStore, publisher, signal: controller.signal, log, batchSize: env.RELAY_BATCH_SIZE,
    });
    await relay.done;
  } finally {
    await publisher.close().catch((err: unknown) => log.warn({ err }, "relay: producer close failed"));
    await store.close();
    await readStore.close();
  }
}

main().catch((err: unknown) => {
  log.error({ err }, "relay: fatal");
  process.exit(1);
});
