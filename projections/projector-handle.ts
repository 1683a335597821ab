import type { EventStore } from "../domain/event-store.ts";
import { runProjector, urgency, type ProjectorOptions } from "./projector.ts";
import { readCheckpoint } from "./checkpoints.ts";
import type { Projection } from "./projection.ts";
import type { ReadStore } from "./read-store.ts";

export interface ProjectorHandle {
  /** global position the read models have applied */
  position(): number;
  /**
   * resolves true once the read models applied `position`, false after `timeoutMs`; a query's wait hurries
   * the projector (see hurry), `hurry: false` only follows its progress (the thread's position reports)
   */
  waitFor(position: number, timeoutMs?: number, hurry?: boolean): Promise<boolean>;
  /** waits (briefly) until the read models reach the event store's head */
  catchUp(timeoutMs?: number): Promise<boolean>;
  /** a query waits for a position: the live projector stops lingering for more events (projector.ts, Urgency) */
  hurry(): void;
  stop(): Promise<void>;
}

/**
 * Runs `work` only while this process holds the projector's lease (application/cluster/lease.ts), until
 * `signal` aborts; `work`'s own signal aborts when the lease is lost.
 */
export type UnderLease = (work: (signal: AbortSignal) => Promise<void>, signal: AbortSignal) => Promise<void>;

/**
 * Runs the projector in this process and lets queries wait for a position (`minPosition`). With a lease,
 * it projects only while it holds it; meanwhile (a standby) it follows the active one's checkpoint.
 */
export async function startProjector(
  events: EventStore,
  reads: ReadStore,
  projections: Projection[],
  onError: (e: unknown) => void,
  underLease?: UnderLease,
  observe?: ProjectorOptions["observe"],
  lingerMs?: number,
): Promise<ProjectorHandle> {
  const urgent = urgency();
  const applied = appliedPositions(await readCheckpoint(reads), urgent.hurry);
  const controller = new AbortController();

  const project = async (signal: AbortSignal) => {
    for (let delay = 100; !signal.aborted; delay = Math.min(delay * 2, 30_000)) {
      try {
        await runProjector({
          events,
          reads,
          projections,
          signal,
          observe,
          urgency: urgent,
          ...(lingerMs === undefined ? {} : { lingerMs }),
          onBatch(position) {
            delay = 100;
            applied.reached(position);
          },
        });
      } catch (error) {
        onError(error);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  };
  const running = underLease ? underLease(project, controller.signal) : project(controller.signal);
  // a standby's queries wait on the active projector's checkpoint
  const follower = underLease
    ? setInterval(() => void readCheckpoint(reads).then(applied.reached, () => undefined), 100).unref()
    : undefined;

  return {
    position: applied.position,
    waitFor: applied.waitFor,
    catchUp: async (timeoutMs = 1000) => applied.waitFor(await events.headPosition(), timeoutMs),
    hurry: urgent.hurry,
    async stop() {
      controller.abort();
      urgent.hurry(); // a linger under way ends now
      if (follower) clearInterval(follower);
      await running;
      applied.cancel();
    },
  };
}

/**
 * The position the read models have applied, and the queries waiting for one (`minPosition`): fed by
 * whoever learns of progress (the projector's batches, a standby's checkpoint reads, a child process's
 * messages). A wait for a position not applied yet calls `hurry` (the projector stops lingering), unless
 * it passes `hurry: false`.
 */
export function appliedPositions(start: number, hurry: () => void = () => undefined) {
  let applied = start;
  const waiters = new Set<{ position: number; resolve: (ok: boolean) => void }>();
  return {
    position: () => applied,
    /** the read models applied `position`: the waits it satisfies end */
    reached(position: number) {
      applied = Math.max(applied, position);
      for (const w of waiters) {
        if (w.position > applied) continue;
        waiters.delete(w);
        w.resolve(true);
      }
    },
    /** resolves true once `position` is applied, false after `timeoutMs` */
    waitFor(position: number, timeoutMs = 2000, hurrying = true): Promise<boolean> {
      if (position <= applied) return Promise.resolve(true);
      if (hurrying) hurry();
      return new Promise((resolve) => {
        const waiter = { position, resolve };
        waiters.add(waiter);
        setTimeout(() => waiters.delete(waiter) && resolve(false), timeoutMs).unref();
      });
    },
    /** ends every wait with false (the projector stops) */
    cancel() {
      for (const w of waiters) w.resolve(false);
      waiters.clear();
    },
  };
}

/** For processes that do not project (a separate projector app does): follows its checkpoint. */
export function watchProjector(events: EventStore, reads: ReadStore, intervalMs = 50): ProjectorHandle {
  let applied = 0;
  const refresh = async () => (applied = Math.max(applied, await readCheckpoint(reads)));
  async function waitFor(position: number, timeoutMs = 2000) {
    const deadline = Date.now() + timeoutMs;
    while ((await refresh()) < position) {
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
    return true;
  }
  const timer = setInterval(() => void refresh().catch(() => undefined), 1000).unref();
  return {
    position: () => applied,
    waitFor,
    catchUp: async (timeoutMs = 1000) => waitFor(await events.headPosition(), timeoutMs),
    hurry: () => undefined, // another process projects: it lingers at most LINGER_MS
    stop: async () => clearInterval(timer),
  };
}
