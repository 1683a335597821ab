import { Session } from "node:inspector";
import type { Worker } from "node:worker_threads";

// What a test does to npm start's worker thread, where it would signal a child process: `process.on("worker")`
// hands the test every Worker this process starts, so `terminate()` ends one at once, wherever its code is
// (the analog of SIGKILL); and the inspector (node:inspector, in this process, no flag needed) makes one
// run a loop that never yields (a stuck thread: the analog of SIGSTOP, except that terminate() still ends it).

export function threadsOfThisProcess() {
  const started = new Map<number, Worker>();
  const seen: ((worker: Worker) => void)[] = [];
  const onWorker = (worker: Worker) => {
    started.set(worker.threadId, worker);
    for (const see of seen) see(worker);
  };
  process.on("worker", onWorker);
  return {
    /** a Worker this process started, by thread id */
    get(threadId: number): Worker {
      const worker = started.get(threadId);
      if (!worker) throw new Error(`no worker thread ${threadId} started by this process`);
      return worker;
    },
    /** calls `see` with every Worker this process starts from now on */
    onStart(see: (worker: Worker) => void) {
      seen.push(see);
    },
    close: () => void process.off("worker", onWorker),
  };
}

/** the inspector of this process's worker threads: `freeze(threadId)` leaves that thread stuck in a loop */
export async function threadInspector() {
  const session = new Session();
  session.connect();
  const sessions = new Map<number, string>(); // thread id → inspector session id
  const attached = new Set<() => void>();
  session.on("NodeWorker.attachedToWorker", ({ params }) => {
    // the inspector numbers workers its own way; their title names the thread id: "[worker 3]"
    const threadId = Number(/^\[worker (\d+)\]/.exec(params.workerInfo.title)?.[1]);
    sessions.set(threadId, params.sessionId);
    for (const wake of attached) wake();
    attached.clear();
  });
  const post = (method: string, params: object) =>
    new Promise<void>((resolve, reject) => session.post(method, params, (err) => (err ? reject(err) : resolve())));
  await post("NodeWorker.enable", { waitForDebuggerOnStart: false });

  async function sessionOf(threadId: number): Promise<string> {
    for (;;) {
      const id = sessions.get(threadId);
      if (id) return id;
      await new Promise<void>((resolve) => attached.add(resolve));
    }
  }

  return {
    /** the thread runs `for (;;) {}` from its next interrupt check on: its event loop, timers, messages stop */
    async freeze(threadId: number) {
      const message = JSON.stringify({ id: 1, method: "Runtime.evaluate", params: { expression: "for (;;) {}" } });
      await post("NodeWorker.sendMessageToWorker", { sessionId: await sessionOf(threadId), message });
    },
    close() {
      session.disconnect();
    },
  };
}
