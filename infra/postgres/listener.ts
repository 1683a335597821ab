import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";

// Wakes subscriptions when appends commit: one dedicated connection per store runs LISTEN (a pooled
// connection cannot: it is handed to others between queries). Subscriptions remember `generation`
// before they read and wait only while it is unchanged, so a notification arriving between their read
// and their wait is never lost. A dropped connection is reopened with backoff; each (re)connect bumps
// the generation once LISTEN is active, so every subscription re-reads from its own checkpoint what
// committed while nobody listened. The first connect does the same, so no subscription waits for it.

/** a backstop only, e.g. for a half-open TCP connection keepalive has not noticed yet */
const SAFETY_POLL_MS = 30_000;
/** how often subscriptions re-read while the connection is down */
const DOWN_POLL_MS = 1_000;

export const backoffDelay = (attempt: number) => Math.min(100 * 2 ** attempt, 5_000);

export interface Listener {
  readonly generation: number;
  /** resolves once the generation differs from `seen`, the signal aborts, or a poll interval passed */
  changed(seen: number, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export function openListener(config: pg.ClientConfig, channel: string, onError: (error: unknown) => void): Listener {
  let generation = 0;
  let client: pg.Client | undefined;
  let closed = false;
  const waiters = new Set<() => void>();
  const bump = () => {
    generation++;
    for (const wake of [...waiters]) wake();
  };

  async function connect(): Promise<void> {
    for (let attempt = 0; !closed; attempt++) {
      const c = new pg.Client({ ...config, keepAlive: true });
      c.on("error", (err) => lost(c, err)); // also the server's "terminating connection" message
      c.on("end", () => lost(c, new Error("LISTEN connection ended")));
      try {
        await c.connect();
        await c.query(`LISTEN ${channel}`);
        if (closed) return void (await c.end());
        c.on("notification", bump);
        client = c;
        bump();
        return;
      } catch (err) {
        onError(err);
        await c.end().catch(() => undefined);
        await sleep(backoffDelay(attempt));
      }
    }
  }

  function lost(c: pg.Client, err: unknown): void {
    if (client !== c || closed) return;
    client = undefined;
    onError(err);
    void connect();
  }

  void connect();
  return {
    get generation() {
      return generation;
    },
    changed(seen, signal) {
      if (generation !== seen || signal.aborted || closed) return Promise.resolve();
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(done);
          signal.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, client ? SAFETY_POLL_MS : DOWN_POLL_MS);
        waiters.add(done);
        signal.addEventListener("abort", done, { once: true });
      });
    },
    async close() {
      closed = true;
      for (const wake of [...waiters]) wake();
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}
