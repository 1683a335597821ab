// `npm start`: API, projector and (when KAFKA_BROKERS is set) the relay in one process, on the
// configured engines (embedded SQLite files under DATA_DIR by default).
import { buildApp } from "./api/app.ts";
import { ConfigError, loadConfig } from "../infra/config.ts";
import { createPlatform } from "./composition/container.ts";

async function main() {
  const config = loadConfig();
  const platform = await createPlatform(config);
  const app = await buildApp(platform, {
    logger: { level: config.LOG_LEVEL, redact: ["req.headers.authorization", "req.headers[\"x-api-key\"]"] },
  });
  const relayStop = new AbortController();
  const publisher = config.KAFKA_BROKERS
    ? (await import("../infra/kafka/publisher.ts")).createKafkaPublisher({ brokers: config.KAFKA_BROKERS.split(","), topic: config.KAFKA_TOPIC, clientId: "ai-aggregator" })
    : null;
  const relay = publisher ? await (await import("./relay/start.ts")).startRelay({ store: platform.events, readStore: platform.reads, publisher, signal: relayStop.signal, log: app.log }) : null;
  await app.listen({ port: config.PORT, host: config.HOST });
  console.log(`AI Aggregator listening on http://${config.HOST}:${config.PORT} (console: /, docs: /docs, OpenAPI: /openapi.json)`);
  console.log(platform.adminTokenFile ? `admin token is in ${platform.adminTokenFile}` : "admin token is the ADMIN_TOKEN you set");

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info(`${signal}: shutting down`);
    // a client that keeps an idle socket open must not hold the shutdown forever
    setTimeout(() => {
      app.log.warn("shutdown grace period over: closing remaining connections");
      app.server.closeAllConnections();
    }, 10_000).unref();
    await app.close(); // stop taking requests, finish the ones in flight
    relayStop.abort();
    await relay?.done;
    await publisher?.close();
    await platform.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

main().catch((error) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
