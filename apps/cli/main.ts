// `aggregator` — the operators', analysts' and auditors' CLI (apps/cli/bin.mjs starts its compiled form, dist/cli.js).
// It opens the configured engines directly (same environment variables as the server); with the
// embedded SQLite default it works on DATA_DIR, best with the server stopped.
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { ConfigError } from "../../infra/config.ts";
import { auditCommand } from "./audit.ts";
import { CliError, EXIT, quitOnClosedPipe, type Run } from "./io.ts";
import { projectionsCommand } from "./projections.ts";
import { replayCommand } from "./replay.ts";

const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

const AFTER_HELP = `
Run "aggregator <command> --help" for its options. Environment: DATA_DIR, EVENT_STORE, ESDB_URL,
POSTGRES_URL, READ_STORE, MONGO_URL, MONGO_DB, KAFKA_BROKERS, KAFKA_TOPIC (as for the server).
Exit codes: 0 ok, 1 verification failed / not found, 2 usage or configuration error, 3 failure,
130 interrupted, 141 stdout closed by its reader (e.g. | head).`;

/** commander puts "Did you mean …?" on a line of its own; a usage error is one line */
const oneLine = (message: string) => `${message.trim().replace(/\s*\n\s*/g, " ")}\n`;

export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  let name = "";
  const run: Run = async (command) => {
    try {
      code = await command();
    } catch (error) {
      code = report(name, error);
    }
  };
  // settings first: subcommands copy them when they are created
  const program = new Command("aggregator")
    .description("Replay, rebuild and audit the event-sourced history of AI Aggregator.")
    .version(version)
    .exitOverride()
    .configureOutput({ outputError: (message, write) => write(oneLine(message)) })
    .addHelpText("after", AFTER_HELP)
    .hook("preAction", (_, action) => {
      for (let c: Command | null = action; c && c !== program; c = c.parent) name = name ? `${c.name()} ${name}` : c.name();
    });
  replayCommand(program, run);
  projectionsCommand(program, run);
  auditCommand(program, run);
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    // commander printed the help, the version or a one-line usage error already
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    throw error;
  }
  return code;
}

function report(name: string, error: unknown): number {
  if (error instanceof CliError || error instanceof ConfigError) {
    process.stderr.write(`aggregator ${name}: ${error.message}\n`);
    return error instanceof CliError ? error.exitCode : EXIT.usage;
  }
  process.stderr.write(`aggregator ${name}: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return EXIT.failed;
}

quitOnClosedPipe();
// Exit explicitly (loaders and client libraries may hold the event loop a while), but only once stdout
// has flushed: process.exit() right after a large write to a pipe could cut it short.
const code = await main(process.argv.slice(2));
process.exitCode = code;
process.stdout.write("", () => process.exit(code));
setTimeout(() => process.exit(code), 5000).unref();
