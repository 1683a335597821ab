import { expiredOpenHolds } from "../../projections/holds.ts";
import type { Platform } from "../platform.ts";
import type { Leased } from "../cluster/lease.ts";
import { release } from "./settlement.ts";

// Expired holds. Funds are never blocked past a hold's expiry even without this sweeper: the
// available balance ignores expired holds and the next reservation on the account releases them in
// the same append (lazy expiry, domain reserveUsage). The sweeper closes the remaining gap for the
// audit trail: a hold whose request died with its process (no settle, no release) gets its
// usage_released(expired) within one period of its expiry, even on an account that goes quiet,
// so the holds projection and balances.held return to zero and every request id ends settled or released.
// Safe against a late settle: a hold expires only after the longest a request may run (gateway
// totalMs + margin), and a settle that finds its hold released charges the usage all the same.

export interface SweeperOptions {
  intervalMs: number;
  /** sweeps only while this process holds the lease (application/cluster/lease.ts): one sweeper runs */
  lease?: Leased;
  /** at most this many releases per sweep */
  batch?: number;
  onError?: (error: unknown) => void;
}

export function startHoldSweeper(platform: Platform, options: SweeperOptions) {
  let running: Promise<number> | null = null;

  async function sweep(): Promise<number> {
    const now = platform.now();
    const expired = await expiredOpenHolds(platform.reads, now, options.batch ?? 200);
    const ctx = { actor: { type: "system" as const, id: "hold-sweeper" }, correlationId: "hold-sweeper", now };
    for (const hold of expired) await release(platform, { ...ctx, correlationId: `sweep_${hold.reservationId}` }, hold, "expired");
    return expired.length;
  }

  /** one sweep now (or the one already running); resolves to the number of holds released */
  const sweepOnce = () => {
    running ??= sweep().finally(() => (running = null));
    return running;
  };

  let active = !options.lease;
  const stopLease = new AbortController();
  const holding = options.lease?.(async (signal) => {
    active = true;
    await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
    active = false;
    await running?.catch(() => undefined); // the next holder starts once this sweep ended
  }, stopLease.signal);

  const timer = setInterval(() => {
    if (active) sweepOnce().catch((error) => options.onError?.(error));
  }, options.intervalMs);
  timer.unref();

  return {
    sweepOnce,
    /** whether this process is the active sweeper */
    active: () => active,
    async stop() {
      clearInterval(timer);
      stopLease.abort();
      await holding;
      await running?.catch(() => undefined);
    },
  };
}
