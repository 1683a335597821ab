// The projector as its own app (docker-compose `projector`): builds the read models from the event
// store, from its checkpoint, until SIGTERM. `npm start` runs the same projector in a worker thread
// (supervisor.ts, worker.ts). With METRICS_PORT set it serves GET /metrics there (its lag, batch times,
// Node's own metrics).
import { ConfigError, loadConfig } from "../../infra/config.ts";
import { compose, TOKENS } from "../composition/container.ts";

async function main() {
  const config = loadConfig();
  const root = compose(config, { service: "ai-aggregator-projector" });
  const projector = await root.resolve(TOKENS.projector);
  const metrics = await root.resolve(TOKENS.metricsServer);
  const where = { events: config.EVENT_STORE, reads: config.READ_STORE, from: projector.position() };
  root.resolve(TOKENS.logger).info({ ...where, ...(metrics ? { metricsPort: metrics.port } : {}) }, "projector running");
  const stop = async () => {
    await root.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}

main().catch((error) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
