import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import type { ReadStore } from "../../projections/read-store.ts";
import { versioned, type Version, type VersionDoc } from "./versioned.ts";

// One active worker per lease name (the projector, the relay of a topic, the hold sweeper), on every
// engine mix: the lease is a versioned chain in the read store (versioned.ts), so taking it over and
// renewing it are compare-and-sets that exactly one instance wins. The holder renews every `renewMs`; a
// standby tries every `retryMs` and takes over once the holder's `expiresAt` passed, so a dead holder is
// replaced within ttlMs + retryMs of its last renewal. The version number is the fencing epoch.
// A holder that stalls past its expiry (a long GC pause, a frozen VM) runs on until its next renewal
// fails, alongside its successor: the workers' own guards make that harmless (projector: `_position`
// guards; relay: consumers dedupe on ce_id; sweeper: a hold is released once, the second release is
// refused by the account stream).

export interface LeaseState {
  holder: string;
  /** ms; 0: released */
  expiresAt: number;
}

export interface LeaseOptions {
  /** what is leased: "projector", "relay:<topic>", "hold-sweeper" */
  name: string;
  ttlMs?: number;
  renewMs?: number;
  retryMs?: number;
  /** this instance (default: host/pid/random) */
  holder?: string;
  now?: () => number;
  /** the lease was taken (with its epoch) or given up */
  onChange?: (held: boolean, epoch: number) => void;
  onError?: (error: unknown) => void;
}

export const LEASES = "leases";
export const LEASE_DEFAULTS = { ttlMs: 3000, renewMs: 1000, retryMs: 500 };

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });

/** Runs `work` only while this instance holds the lease; `work` gets a signal that aborts when it is lost. */
export type Leased = (work: (signal: AbortSignal) => Promise<void>, signal: AbortSignal) => Promise<void>;

/**
 * Stands by until the lease is free, then runs `work` while holding it; gives the lease back (expiry 0,
 * so a standby takes over at its next try) when `work` ends or `signal` aborts. Resolves once `signal`
 * aborted and `work` returned; never rejects (store errors are retried, `work`'s errors reported).
 */
export function leased(reads: ReadStore, options: LeaseOptions): Leased {
  const { name, now = Date.now, onChange, onError = () => undefined } = options;
  const { ttlMs, renewMs, retryMs } = { ...LEASE_DEFAULTS, ...options };
  const holder = options.holder ?? `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  const chain = versioned<LeaseState>(reads.collection<VersionDoc<LeaseState>>(LEASES), name, now);
  let indexed = false;

  async function acquire(): Promise<Version<LeaseState> | null> {
    if (!indexed) {
      await reads.collection(LEASES).ensureIndex(["chain", "v"]);
      indexed = true;
    }
    const current = await chain.latest();
    if (current && current.state.holder !== holder && current.state.expiresAt > now()) return null;
    return chain.write(current, { holder, expiresAt: now() + ttlMs });
  }

  /** renews until `running` settles or the lease is lost; returns the last version held */
  async function hold(version: Version<LeaseState>, running: Promise<void>, lost: AbortController, signal: AbortSignal) {
    let finished = false;
    void running.finally(() => (finished = true));
    let renewed = now();
    while (!finished && !signal.aborted) {
      await Promise.race([sleep(renewMs, signal), running]);
      if (finished || signal.aborted) break;
      try {
        const next = await chain.write(version, { holder, expiresAt: now() + ttlMs });
        const current = next ?? (await chain.latest());
        if (current?.state.holder !== holder) break; // taken over: this instance missed its expiry
        version = current;
        if (next) renewed = now();
      } catch (error) {
        onError(error);
        if (now() - renewed >= ttlMs) break; // cannot tell whether a standby took it: step down
      }
    }
    lost.abort();
    return version;
  }

  return async (work, signal) => {
    while (!signal.aborted) {
      let version: Version<LeaseState> | null = null;
      try {
        version = await acquire();
      } catch (error) {
        onError(error);
      }
      if (!version) {
        await sleep(retryMs, signal);
        continue;
      }
      onChange?.(true, version.v);
      const lost = new AbortController();
      const running = work(AbortSignal.any([signal, lost.signal])).catch(onError);
      version = await hold(version, running, lost, signal);
      await running;
      onChange?.(false, version.v);
      await chain.write(version, { holder, expiresAt: 0 }).catch(onError); // a standby takes over at once
      if (!signal.aborted) await sleep(retryMs, signal);
    }
  };
}
