// `npm start` runs the projector (RUN_PROJECTOR) and the relay (KAFKA_BROKERS) in ONE worker thread of its
// own process (worker.ts), composed from the same configuration: projection and publishing use the second
// core and a V8 heap of their own (capped, below), not the API's event loop, and share the process's node
// binary, libraries and native code instead of a second process's (~50 MB of RSS; BENCHMARKS.md, Memory).
// A thread that ends (a crash, its heap cap reached) is started again with backoff; one whose heartbeat
// stops (its event loop stuck) is terminated and replaced. Either way the new thread resumes from the
// checkpoints: the position guards make a replayed batch a no-op, as after any crash. The thread cannot
// outlive `npm start`: it is part of the process.
// The API's side is a ProjectorHandle fed by the thread's `applied` messages: `minPosition` waits end as
// soon as the thread has applied the position, without polling the checkpoint; a wait for a position not
// applied yet sends `hurry`, so the thread's projector does not linger for more events first.
import { Worker } from "node:worker_threads";
import type { Logger } from "pino";
import type { EventStore } from "../../domain/event-store.ts";
import type { Config } from "../../infra/config.ts";
import { readCheckpoint } from "../../projections/checkpoints.ts";
import { appliedPositions, type ProjectorHandle } from "../../projections/projector-handle.ts";
import type { ReadStore } from "../../projections/read-store.ts";

/** thread → API: the read models applied `position`; or its event loop still turns (every `heartbeatMs`) */
export type WorkerMessage = { type: "applied"; position: number } | { type: "alive" };
/** API → thread: stop (finish and close), hurry (a query waits for a position: stop lingering) */
export type SupervisorMessage = "stop" | "hurry";
/** what the thread starts with: the configuration as environment variables, and its heartbeat period */
export interface WorkerData {
  env: Record<string, string>;
  heartbeatMs: number;
  lingerMs?: number;
}

export interface BackgroundWorker {
  /** the projector's handle for the API (its stop() does nothing: the thread stops with `stop` below) */
  readonly projector: ProjectorHandle;
  /** the running thread's id (undefined before it starts, and between its end and its replacement) */
  threadId(): number | undefined;
  /** asks the thread to stop its relay and projector and close its stores; resolves once it has ended */
  stop(): Promise<void>;
}

export interface SupervisorOptions {
  /** the thread starts once this resolves (npm start: once the API listens, so the two starts do not share the CPU) */
  begin?: Promise<unknown>;
  /** a thread that sent nothing for this long is terminated and replaced (default 10 s; tests shorten it) */
  hungAfterMs?: number;
  /** the thread's projector linger (ComposeOptions.projectorLingerMs) */
  lingerMs?: number;
}

// Under tsx (development, tests) a small module loads worker.ts through tsx's API (Node 20 applies no
// module loader hooks in worker threads); compiled, the thread's bundle sits next to this code (a
// variable, so a bundler's rewriting of literal URLs leaves it)
const WORKER = import.meta.url.endsWith(".ts") ? "./worker-tsx.mjs" : "./projector-worker.js";
// The thread's V8 heap, sized to what it holds rather than the API's: projector batches are bounded
// (4 MiB of event text) and a 200k-event catch-up peaks at ~36 MB of heap, so a 96 MB old generation
// leaves room; a 6 MB young generation (2 MiB semi-spaces) keeps it out of the RSS for more scavenges.
// Reaching the cap ends the thread (ERR_WORKER_OUT_OF_MEMORY), not the process: it is started again.
const HEAP = { maxOldGenerationSizeMb: 96, maxYoungGenerationSizeMb: 6 };
const HEARTBEAT_MS = 1000;
const HUNG_AFTER_MS = 10_000;
const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 30_000;

export async function startBackgroundWorker(
  config: Config,
  events: EventStore,
  reads: ReadStore,
  log: Logger,
  { begin = Promise.resolve(), hungAfterMs = HUNG_AFTER_MS, lingerMs }: SupervisorOptions = {},
): Promise<BackgroundWorker> {
  // a wait for a position not applied yet tells the thread's projector to stop lingering for more events
  const hurry = () => worker?.postMessage("hurry" satisfies SupervisorMessage);
  const applied = appliedPositions(await readCheckpoint(reads), hurry);
  let stopping = false;
  let worker: Worker | undefined;
  let lastHeard = 0;
  let ended = Promise.resolve();
  let delay = FIRST_DELAY_MS;
  const workerData: WorkerData = { env: envOf(config), heartbeatMs: HEARTBEAT_MS, ...(lingerMs === undefined ? {} : { lingerMs }) };

  function start() {
    const w = new Worker(new URL(WORKER, import.meta.url), { workerData, execArgv: [], resourceLimits: HEAP });
    worker = w;
    lastHeard = Date.now();
    ended = new Promise((resolve) => w.once("exit", () => resolve()));
    w.on("message", (m: WorkerMessage) => {
      lastHeard = Date.now();
      if (m.type !== "applied" || m.position <= applied.position()) return;
      applied.reached(m.position);
      delay = FIRST_DELAY_MS;
    });
    w.on("error", (err) => log.error({ err }, "projector/relay thread failed"));
    w.on("exit", (code) => {
      if (worker === w) worker = undefined;
      if (stopping) return;
      log.error({ code, restartInMs: delay }, "projector/relay thread ended, restarting");
      setTimeout(() => stopping || start(), delay).unref();
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    });
  }

  // a thread stuck in JavaScript (a loop that never yields) stops its heartbeat: terminate() ends it at
  // once, and its exit restarts it as a crash would. (One stuck inside a native call ends when it returns.)
  const watchdog = setInterval(
    () => {
      const silentMs = Date.now() - lastHeard;
      if (!worker || silentMs <= hungAfterMs) return;
      log.error({ threadId: worker.threadId, silentMs }, "projector/relay thread unresponsive, terminating it");
      lastHeard = Date.now(); // once per hang
      void worker.terminate();
    },
    Math.min(HEARTBEAT_MS, hungAfterMs / 2),
  ).unref();

  void begin.then(() => stopping || start());

  return {
    projector: {
      position: applied.position,
      waitFor: applied.waitFor,
      catchUp: async (timeoutMs = 1000) => applied.waitFor(await events.headPosition(), timeoutMs),
      hurry,
      stop: async () => undefined,
    },
    threadId: () => worker?.threadId,
    async stop() {
      stopping = true;
      worker?.postMessage("stop" satisfies SupervisorMessage);
      await ended; // the watchdog still ends a thread that hangs on its way out
      clearInterval(watchdog);
      applied.cancel();
    },
  };
}

/** the configuration as environment variables: the thread loads it as any program does */
function envOf(config: Config): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, String(v)]),
  );
}
