// `npm start` runs the projector (RUN_PROJECTOR) and the relay (KAFKA_BROKERS) in ONE child process
// (child.ts), composed from the same configuration: projection and publishing use the second core and a
// heap of their own, not the API's event loop. (A worker thread would not do: Node 20 applies no module
// loader hooks in workers, so TypeScript under tsx could not run there.) The child ends with its parent:
// it exits when the IPC channel closes, which the kernel does when the parent dies, SIGKILL included. A
// child that fails or is killed is started again with backoff and resumes from its checkpoints (the
// position guards make a replayed batch a no-op, as after any crash).
// The API's side is a ProjectorHandle fed by the child's `applied` messages: `minPosition` waits end as
// soon as the child has applied the position, without polling the checkpoint.
import { fork, type ChildProcess } from "node:child_process";
import type { Logger } from "pino";
import type { EventStore } from "../../domain/event-store.ts";
import type { Config } from "../../infra/config.ts";
import { readCheckpoint } from "../../projections/checkpoints.ts";
import { appliedPositions, type ProjectorHandle } from "../../projections/projector-handle.ts";
import type { ReadStore } from "../../projections/read-store.ts";

/** child → API: started, or the read models applied `position`; API → child: "stop" */
export type ChildMessage = { type: "applied"; position: number };

export interface BackgroundProcess {
  /** the projector's handle for the API (its stop() does nothing: the child stops with `stop` below) */
  readonly projector: ProjectorHandle;
  /** the running child's pid (undefined before it is forked, and between a crash and its restart) */
  pid(): number | undefined;
  /** asks the child to stop its relay and projector and close its stores; resolves once it has exited */
  stop(): Promise<void>;
}

// Under tsx (development, tests) the child runs the TypeScript source with tsx's loader; compiled, the
// child's bundle sits next to this code (a variable, so a bundler's rewriting of literal URLs leaves it)
const CHILD = import.meta.url.endsWith(".ts") ? "./child.ts" : "./projector-child.js";
// The child's V8 heap, sized to what it holds rather than inherited from the API: projector batches are
// bounded (4 MiB of event text) and a 200k-event catch-up peaks at ~36 MB of heap, so a 96 MB cap leaves
// room; 2 MiB semi-spaces instead of up to 16 keep ~25 MB of young generation out of its RSS, for more
// scavenges (a 200k-event catch-up: 9.3 → 11–13 s on a shared machine; at the API's pace the child idles).
const CHILD_HEAP = ["--max-old-space-size=96", "--max-semi-space-size=2"];

export async function startBackgroundProcess(
  config: Config,
  events: EventStore,
  reads: ReadStore,
  log: Logger,
  /** the child is forked once this resolves (npm start: once the API listens, so the two starts do not share the CPU) */
  begin: Promise<unknown> = Promise.resolve(),
): Promise<BackgroundProcess> {
  const applied = appliedPositions(await readCheckpoint(reads));
  let stopping = false;
  let child: ChildProcess | undefined;
  let exited = Promise.resolve();
  let delay = 100;
  const execArgv = [...CHILD_HEAP, ...(CHILD.endsWith(".ts") ? ["--import", "tsx"] : [])];

  function start() {
    const c = fork(new URL(CHILD, import.meta.url), [], { env: { ...process.env, ...childEnv(config) }, execArgv, stdio: "inherit" });
    child = c;
    exited = new Promise((resolve) => c.once("exit", () => resolve()));
    c.on("message", (m: ChildMessage) => {
      if (m.type !== "applied" || m.position <= applied.position()) return;
      applied.reached(m.position);
      delay = 100;
    });
    c.on("error", (err) => log.error({ err }, "projector/relay process failed"));
    c.on("exit", (code, signal) => {
      if (child === c) child = undefined;
      if (stopping) return;
      log.error({ code, signal, restartInMs: delay }, "projector/relay process exited, restarting");
      setTimeout(() => stopping || start(), delay).unref();
      delay = Math.min(delay * 2, 30_000);
    });
  }
  void begin.then(() => stopping || start());

  return {
    projector: {
      position: applied.position,
      waitFor: applied.waitFor,
      catchUp: async (timeoutMs = 1000) => applied.waitFor(await events.headPosition(), timeoutMs),
      stop: async () => undefined,
    },
    pid: () => child?.pid,
    async stop() {
      stopping = true;
      if (child?.connected) child.send("stop");
      await exited;
      applied.cancel();
    },
  };
}

/** the configuration as environment variables: the child loads it as any program does */
function childEnv(config: Config): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, String(v)]),
  );
}
