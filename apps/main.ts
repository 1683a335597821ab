// `npm start`: the API on this process's main thread; the projector and (when KAFKA_BROKERS is set) the
// relay in a worker thread it starts (apps/projector/supervisor.ts); on the configured engines (embedded SQLite files
// under DATA_DIR by default, which one `npm start` at a time may use: infra/sqlite/instance-lock.ts).
// stdout carries JSON log lines only (pino); a configuration error is one plain line on stderr.
import { resolve } from "node:path";
import { ConfigError, loadConfig } from "../infra/config.ts";
import { lockDataDir } from "../infra/sqlite/instance-lock.ts";
import { compose, TOKENS } from "./composition/container.ts";

async function main() {
  const config = loadConfig();
  if (config.EVENT_STORE === "sqlite" || config.READ_STORE === "sqlite") lockDataDir(resolve(config.DATA_DIR));
  let listening = () => {};
  const root = compose(config, { background: true, backgroundStarts: new Promise<void>((resolve) => (listening = resolve)) });
  // the thread first: on shutdown the API closes (requests in flight finish) before the relay stops; it
  // starts once the API listens, so its start does not take the CPU from the API's (/ready: stores, not the thread)
  await root.resolve(TOKENS.background);
  const app = await root.resolve(TOKENS.api);
  await app.listen({ port: config.PORT, host: config.HOST });
  listening();
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
