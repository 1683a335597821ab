import { createWriteStream, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { InvalidArgumentError } from "commander";
import type { EventStore } from "../../domain/event-store.ts";
import { loadConfig, type Config } from "../../infra/config.ts";
import { compose, TOKENS, type Root } from "../composition/container.ts";

// What every command shares: the composition root (from the same environment variables as the
// server), the output sink, Ctrl-C, and exit codes.

/** closedPipe: stdout's reader went away (`| head`); 128 + SIGPIPE, what the shell reports for `cat` */
export const EXIT = { ok: 0, mismatch: 1, usage: 2, failed: 3, interrupted: 130, closedPipe: 141 } as const;

/** a failure the user can fix; printed as one line, no stack */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
  }
}

/** runs a command's action and keeps its exit code (main.ts reports errors as one line) */
export type Run = (command: () => Promise<number>) => Promise<void>;

/** The composition root of one command; `overrides` from its options (--brokers, --topic). Close it when done. */
export function openRoot(overrides: Partial<Config> = {}): Root {
  return compose({ ...loadConfig(), ...overrides });
}

/**
 * The configured event store. For the embedded default the file must already exist: a wrong DATA_DIR
 * would otherwise replay or verify an empty store and report success.
 */
export async function eventStore(root: Root): Promise<EventStore> {
  if (root.config.EVENT_STORE === "sqlite") {
    const file = join(resolve(root.config.DATA_DIR), "events.db");
    if (!existsSync(file)) throw new CliError(`no event store at ${file}: set DATA_DIR (the CLI reads the same environment as the server)`);
  }
  return root.resolve(TOKENS.events);
}

/**
 * Writes `chunks` to `--out FILE` (created or truncated, closed when done) or to stdout, with
 * backpressure: the next chunk is produced only once the sink took the last one, and one drain
 * listener at a time, removed after use. A closed stdout is handled once for the whole process
 * (quitOnClosedPipe).
 */
export async function writeOutput(chunks: AsyncIterable<string> | Iterable<string>, file: string | undefined): Promise<void> {
  if (file) await pipeline(chunks, createWriteStream(file));
  else await pipeline(chunks, process.stdout, { end: false });
}

/**
 * `aggregator replay | head -1`: once the reader of stdout is gone nothing more can be delivered, so
 * the process ends at once, with no message (stderr is for the user, not for the pipe) and 141.
 */
export function quitOnClosedPipe() {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(EXIT.closedPipe);
    process.stderr.write(`aggregator: cannot write to stdout: ${error.message}\n`);
    process.exit(EXIT.failed);
  });
  process.stderr.on("error", () => {}); // nobody to tell
}

/** first Ctrl-C aborts (the command finishes cleanly), a second one exits at once */
export function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  const stop = () => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    controller.abort();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  return controller.signal;
}

// Option parsers: a bad value is a usage error (exit 2) reported by the parser with the option's name.

/** ISO-8601 time or epoch milliseconds, as an ISO string */
export function instant(value: string): string {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (Number.isNaN(ms)) throw new InvalidArgumentError("Not an ISO-8601 time or epoch milliseconds.");
  return new Date(ms).toISOString();
}

export function count(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("Not a non-negative integer.");
  return Number(value);
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
