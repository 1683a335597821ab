import { Option, type Command } from "commander";
import { allProjections } from "../../projections/index.ts";
import type { Projection } from "../../projections/projection.ts";
import { readCheckpoint } from "../../projections/checkpoints.ts";
import { rebuildCollection, rebuildProjections } from "../../projections/rebuild.ts";
import { TOKENS } from "../composition/container.ts";
import { CliError, count, eventStore, EXIT, interruptSignal, openRoot, seconds, type Run } from "./io.ts";
import { createProgress } from "./progress.ts";

const names = () => allProjections.map((p) => p.name).join(", ");

function select(wanted: string[], all: boolean): Projection[] {
  if (all && wanted.length > 0) throw new CliError("give projection names or --all, not both");
  if (all) return allProjections;
  if (wanted.length === 0) throw new CliError(`name the projections to rebuild (${names()}) or pass --all`);
  return wanted.map((name) => {
    const found = allProjections.find((p) => p.name === name || p.collection === name);
    if (!found) throw new CliError(`unknown projection "${name}"; known: ${names()}`);
    return found;
  });
}

export function projectionsCommand(program: Command, run: Run) {
  const projections = program.command("projections").description("inspect or rebuild read models (safe to interrupt and rerun)");
  projections
    .command("list")
    .description("projections, their collections and document counts")
    .action(() => run(list));
  projections
    .command("rebuild")
    .summary("rebuild read models into fresh collections, then switch")
    .description(
      "Replay every event into fresh <collection>__rebuild collections while the live ones keep serving, then switch (rename). " +
        "Ctrl-C is safe: run it again and it resumes where it stopped.",
    )
    .argument("[names...]", `projections to rebuild: ${names()}`)
    .option("--all", "every projection")
    .option("--dry-run", "build, but do not switch (inspect <collection>__rebuild)")
    .addOption(new Option("--page-size <N>", "events per read (default 2000)").argParser(count))
    .addHelpText(
      "after",
      "\nWith the embedded SQLite default, stop the server first: a projector writing in another process between\n" +
        "the switch and the rebuild's final catch-up can skip an event.",
    )
    .action((wanted: string[], options: RebuildOptions) => run(() => rebuild(wanted, options)));
}

async function list(): Promise<number> {
  const root = openRoot();
  try {
    await eventStore(root); // refuses a DATA_DIR without a store before creating read.db there
    const reads = await root.resolve(TOKENS.reads);
    for (const p of allProjections)
      process.stdout.write(`${p.name.padEnd(14)} ${p.collection.padEnd(14)} ${await reads.collection(p.collection).count()} documents\n`);
    process.stdout.write(`projected up to position ${await readCheckpoint(reads)}\n`);
  } finally {
    await root.close();
  }
  return EXIT.ok;
}

interface RebuildOptions {
  all?: boolean;
  dryRun?: boolean;
  pageSize?: number;
}

async function rebuild(wanted: string[], values: RebuildOptions): Promise<number> {
  const projections = select(wanted, values.all === true);
  const root = openRoot();
  const signal = interruptSignal();
  const progress = createProgress("rebuild");
  const started = Date.now();
  try {
    const events = await eventStore(root);
    const reads = await root.resolve(TOKENS.reads);
    const result = await rebuildProjections({
      events,
      reads,
      projections,
      signal,
      switchOver: !values.dryRun,
      pageSize: values.pageSize,
      onProgress: (p) => progress.update(p.position, p.head),
    });
    progress.stop();
    const took = Date.now() - started;
    const resumed = Object.entries(result.resumedFrom)
      .filter(([, at]) => at > 0)
      .map(([name, at]) => `${name} from ${at}`);
    if (resumed.length > 0) process.stderr.write(`resumed: ${resumed.join(", ")}\n`);
    if (!result.completed) {
      process.stderr.write(
        `interrupted at position ${result.position} after ${result.events} events; run the same command again to resume\n`,
      );
      return EXIT.interrupted;
    }
    const rate = took > 0 ? Math.round((result.events * 1000) / took) : result.events;
    for (const c of result.collections) process.stdout.write(`${c.name}: ${c.documents} documents\n`);
    const what = values.dryRun
      ? `built ${projections.map(rebuildCollection).join(", ")} (not switched)`
      : `rebuilt and switched ${projections.map((p) => p.name).join(", ")}`;
    process.stdout.write(`${what}: ${result.events} events up to position ${result.position} in ${seconds(took)} (${rate} events/s)\n`);
    return EXIT.ok;
  } finally {
    progress.stop();
    await root.close();
  }
}
