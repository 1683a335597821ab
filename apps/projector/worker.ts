// The worker thread of `npm start` (supervisor.ts): the projector (RUN_PROJECTOR) and the relay
// (KAFKA_BROKERS), composed from the API's configuration with their own store connections, as the
// projector and relay apps compose them. Tells the API each position it applied, and that it is alive
// (a heartbeat: a thread that stops sending it is replaced); "stop" lets the projector reach the head,
// closes everything and ends the thread.
import { parentPort, workerData } from "node:worker_threads";
import type { Config } from "../../infra/config.ts";
import type { SupervisorMessage, WorkerData, WorkerMessage } from "./supervisor.ts";

if (!parentPort) throw new Error("apps/projector/worker.ts runs only as npm start's worker thread");
const port = parentPort;
const { env, heartbeatMs, lingerMs } = workerData as WorkerData;
const post = (message: WorkerMessage) => port.postMessage(message);
setInterval(() => post({ type: "alive" }), heartbeatMs);
post({ type: "alive" });

async function main() {
  // loaded after the heartbeat started: a thread stuck loading its program is unresponsive too
  const [{ ConfigError, loadConfig }, { compose, TOKENS }] = await Promise.all([
    import("../../infra/config.ts"),
    import("../composition/container.ts"),
  ]);
  const config: Config = loadConfig(env);
  const root = compose(config, { clientId: "ai-aggregator", ...(lingerMs === undefined ? {} : { projectorLingerMs: lingerMs }) });
  const log = root.resolve(TOKENS.logger);
  let stopping = false;

  port.on("message", (message: SupervisorMessage) => {
    if (message === "hurry") {
      if (config.RUN_PROJECTOR) void root.resolve(TOKENS.projector).then((p) => p.hurry());
      return;
    }
    if (message !== "stop" || stopping) return;
    stopping = true;
    // the API closed first: what it appended is final, so the read models catch up to it before the
    // stores close (a restart then serves them complete, not only once this thread is up again)
    const drained = config.RUN_PROJECTOR ? root.resolve(TOKENS.projector).then((p) => p.catchUp(10_000)) : Promise.resolve();
    void drained.finally(() => root.close().finally(() => process.exit(0))); // in a worker: ends this thread only
  });

  async function reportPositions() {
    const projector = await root.resolve(TOKENS.projector);
    post({ type: "applied", position: projector.position() });
    while (!stopping)
      if (await projector.waitFor(projector.position() + 1, 60_000, false)) post({ type: "applied", position: projector.position() });
  }
  async function relay() {
    await (
      await root.resolve(TOKENS.relay)
    ).done;
  }
  try {
    await Promise.all([config.RUN_PROJECTOR ? reportPositions() : undefined, config.KAFKA_BROKERS ? relay() : undefined]);
  } catch (err) {
    if (stopping) return;
    if (err instanceof ConfigError) console.error(err.message);
    else log.error({ err }, "projector/relay thread: fatal");
    process.exit(1); // the supervisor starts it again
  }
}

void main();
