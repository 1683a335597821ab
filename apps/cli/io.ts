import { once } from "node:events";
import { createWriteStream, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { EventStore } from "../../domain/event-store.ts";
import { loadConfig, type Config } from "../../infra/config.ts";
import type { ReadStore } from "../../projections/read-store.ts";
import { openEventStore, openReadStore } from "../shared/container.ts";

// What every command shares: the environment (the same variables as the server), the stores, the
// output sink, Ctrl-C, and exit codes.

export const EXIT = { ok: 0, mismatch: 1, usage: 2, failed: 3, interrupted: 130 } as const;

/** a failure the user can fix; printed as one line, no stack */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT.usage) {
    super(message);
  }
}

export function config(): Config {
  return loadConfig();
}

/**
 * The configured event store. For the embedded default the file must already exist: a wrong DATA_DIR
 * would otherwise replay or verify an empty store and report success.
 */
export async function eventStore(cfg: Config): Promise<EventStore> {
  if (cfg.EVENT_STORE === "sqlite") {
    const file = join(resolve(cfg.DATA_DIR), "events.db");
    if (!existsSync(file)) throw new CliError(`no event store at ${file}: set DATA_DIR (the CLI reads the same environment as the server)`);
  }
  return openEventStore(cfg);
}

export const readStore = (cfg: Config): Promise<ReadStore> => openReadStore(cfg);

export interface Output {
  write(chunk: string): Promise<void>;
  close(): Promise<void>;
}

/** `--out FILE` or stdout, honouring backpressure; a closed pipe (`| head`) ends quietly */
export function openOutput(file: string | undefined): Output {
  const stream = file ? createWriteStream(file) : process.stdout;
  let broken = false;
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") broken = true;
    else throw error;
  });
  return {
    async write(chunk) {
      if (broken || chunk.length === 0) return;
      if (!stream.write(chunk)) await Promise.race([once(stream, "drain"), once(stream, "close")]);
    },
    async close() {
      if (!file) return;
      await new Promise<void>((done, fail) => (stream as ReturnType<typeof createWriteStream>).end((e?: Error | null) => (e ? fail(e) : done())));
    },
  };
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

export function parseInstant(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (Number.isNaN(ms)) throw new CliError(`${flag}: "${value}" is not an ISO-8601 time or epoch milliseconds`);
  return new Date(ms).toISOString();
}

export function parseCount(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new CliError(`${flag}: "${value}" is not a non-negative integer`);
  return Number(value);
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
