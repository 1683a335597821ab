// `npm start`: API, projector and (when KAFKA_BROKERS is set) the relay in one process, on the
// configured engines (embedded SQLite files under DATA_DIR by default). stdout carries JSON log lines only
// (pino); a configuration error is one plain line on stderr.
import { ConfigError, loadConfig } from "../infra/config.ts";
import { compose, TOKENS } from "./composition/container.ts";

async function main() {
  const config = loadConfig();
  const root = compose(config);
  // the relay first: on shutdown the API closes (requests in flight finish) before it stops
  if (config.KAFKA_BROKERS) await root.resolve(TOKENS.relay);
  const app = await root.resolve(TOKENS.api);
  await app.listen({ port: config.PORT, host: config.HOST });
  const { file } = root.resolve(TOKENS.adminToken);
  const url = `http://${config.HOST}:${config.PORT}`;
  app.log.info({ url, console: "/", docs: "/docs", openapi: "/openapi.json", metrics: "/metrics" }, `AI Aggregator listening on ${url}`);
  app.log.info(file ? { adminTokenFile: file } : {}, file ? `admin token is in ${file}` : "admin token is the ADMIN_TOKEN you set");

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, "shutting down");
    // a client that keeps an idle socket open must not hold the shutdown forever
    setTimeout(() => {
      app.log.warn("shutdown grace period over: closing remaining connections");
      app.server.closeAllConnections();
    }, 10_000).unref();
    await root.close(); // the API stops taking requests and finishes the ones in flight, then the rest closes
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

main().catch((error) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
