// `aggregator` — the operators', analysts' and auditors' CLI (started by apps/cli/bin.mjs through tsx).
// It opens the configured engines directly (same environment variables as the server); with the
// embedded SQLite default it works on DATA_DIR, best with the server stopped.
import { ConfigError } from "../../infra/config.ts";
import { AUDIT_HELP, auditCommand } from "./audit.ts";
import { CliError, EXIT } from "./io.ts";
import { PROJECTIONS_HELP, projectionsCommand } from "./projections.ts";
import { REPLAY_HELP, replayCommand } from "./replay.ts";

const HELP = `usage: aggregator <command> [options]

commands:
  replay                     write events from the event store or the Kafka topic as NDJSON/CSV
  projections list|rebuild   inspect or rebuild read models (safe to interrupt and rerun)
  audit verify|export        verify hash chains and balances; export an account's history

Run "aggregator <command> --help" for its options. Environment: DATA_DIR, EVENT_STORE, ESDB_URL,
POSTGRES_URL, READ_STORE, MONGO_URL, MONGO_DB, KAFKA_BROKERS, KAFKA_TOPIC (as for the server).
Exit codes: 0 ok, 1 verification failed / not found, 2 usage or configuration error, 3 failure,
130 interrupted.`;

const COMMANDS: Record<string, { help: string; run: (args: string[]) => Promise<number> }> = {
  replay: { help: REPLAY_HELP, run: replayCommand },
  projections: { help: PROJECTIONS_HELP, run: projectionsCommand },
  audit: { help: AUDIT_HELP, run: auditCommand },
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${HELP}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`unknown command "${name}"\n\n${HELP}\n`);
    return EXIT.usage;
  }
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(`${command.help}\n`);
    return EXIT.ok;
  }
  try {
    return await command.run(args);
  } catch (error) {
    if (error instanceof CliError) {
      process.stderr.write(`aggregator ${name}: ${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof ConfigError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`aggregator ${name}: ${(error as Error).message}\n`);
      return EXIT.usage;
    }
    process.stderr.write(`aggregator ${name}: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT.failed;
  }
}

// Exit explicitly (loaders and client libraries may hold the event loop a while), but only once stdout
// has flushed: process.exit() right after a large write to a pipe could cut it short.
const code = await main(process.argv.slice(2));
process.exitCode = code;
process.stdout.write("", () => process.exit(code));
setTimeout(() => process.exit(code), 5000).unref();
