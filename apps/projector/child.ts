// The child process of `npm start` (supervisor.ts): the projector (RUN_PROJECTOR) and the relay
// (KAFKA_BROKERS), composed from the API's configuration with their own store connections, as the
// projector and relay apps compose them. Reports each applied position to its parent; "stop" (or
// SIGINT/SIGTERM) lets the projector reach the head, closes everything and exits 0. It never outlives its parent: when the IPC channel
// closes (the parent died, however) it exits at once, as a crash would.
import { ConfigError, loadConfig } from "../../infra/config.ts";
import { compose, TOKENS } from "../composition/container.ts";
import type { ChildMessage } from "./supervisor.ts";

if (!process.send) throw new Error("apps/projector/child.ts runs only as the child process of npm start");
const send = process.send.bind(process);
const config = loadConfig();
const root = compose(config, { clientId: "ai-aggregator" });
const log = root.resolve(TOKENS.logger);
let stopping = false;

const stop = () => {
  if (stopping) return;
  stopping = true;
  // the parent closed its API first: what it appended is final, so the read models catch up to it before
  // the stores close (a restart then serves them complete, not only once this child is up again)
  const drained = config.RUN_PROJECTOR ? root.resolve(TOKENS.projector).then((p) => p.catchUp(10_000)) : Promise.resolve();
  void drained.finally(() => root.close().finally(() => process.exit(0)));
};
process.on("message", (message) => message === "stop" && stop());
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
process.on("disconnect", () => stopping || process.exit(1));

async function reportPositions() {
  const projector = await root.resolve(TOKENS.projector);
  const post = (position: number) => process.connected && send({ type: "applied", position } satisfies ChildMessage);
  post(projector.position());
  while (!stopping) if (await projector.waitFor(projector.position() + 1, 60_000)) post(projector.position());
}

async function relay() {
  await (
    await root.resolve(TOKENS.relay)
  ).done;
}

Promise.all([config.RUN_PROJECTOR ? reportPositions() : undefined, config.KAFKA_BROKERS ? relay() : undefined]).catch((err: unknown) => {
  if (stopping) return;
  if (err instanceof ConfigError) console.error(err.message);
  else log.error({ err }, "projector/relay process: fatal");
  process.exit(1); // the parent starts it again
});
