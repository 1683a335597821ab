// The projector as its own app (docker-compose `projector`): builds the read models from the event
// store, from its checkpoint, until SIGTERM. `npm start` runs the same projector in-process.
import { ConfigError, loadConfig } from "../../infra/config.ts";
import { createPlatform } from "../composition/container.ts";

async function main() {
  const config = loadConfig();
  const platform = await createPlatform(config, { onProjectorError: (e) => console.error("projector error:", e) });
  console.log(`projector running (events: ${config.EVENT_STORE}, read models: ${config.READ_STORE}), from position ${platform.projector.position()}`);
  const stop = async () => {
    await platform.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}

main().catch((error) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
