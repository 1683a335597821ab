// The projector as its own app (docker-compose `projector`): builds the read models from the event
// store, from its checkpoint, until SIGTERM. `npm start` runs the same projector in a child process
// (supervisor.ts, child.ts).
import { ConfigError, loadConfig } from "../../infra/config.ts";
import { compose, TOKENS } from "../composition/container.ts";

async function main() {
  const config = loadConfig();
  const root = compose(config);
  const projector = await root.resolve(TOKENS.projector);
  console.log(
    `projector running (events: ${config.EVENT_STORE}, read models: ${config.READ_STORE}), from position ${projector.position()}`,
  );
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
