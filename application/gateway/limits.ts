import type { ApiKeyLimits } from "../../domain/events.ts";
import type { ReadStore } from "../../projections/read-store.ts";
import { versioned, type Chain, type Version, type VersionDoc } from "../cluster/versioned.ts";

// Per-key requests and tokens per minute, shared by every API instance: each key's window is a
// versioned chain in the read store (application/cluster/versioned.ts), so every admission decision is
// a compare-and-set on the key's latest window, and no two instances admit on the same state.
// In each instance, the requests of one key that arrive while a write is in flight wait and are decided
// together, on one version: one round trip per batch (two after another instance moved the window).
// The window counts whole seconds: a request at second s sees the seconds s-60…s, so no 60-second
// span ever admits more than the limit, and a refused request waits up to 1 s longer than an exact
// window would. Tokens: an admitted request holds its most tokens (prompt estimate + completion
// limit, at most the whole limit) in its second and trues it up to the tokens billed when it ends; a
// failed request gives its hold back; holds of an instance that died age out with their second.
// Refusals write nothing and are decided on a fresh read. Keys without limits touch no store.
// Budgets are not here: they live in the account stream (domain reserveUsage keyBudget).

export const RATE_WINDOWS = "rate_windows";
const WINDOW_S = 60;
/** a write lost to other instances this many times in a row fails the requests (never seen) */
const MAX_ROUNDS = 100;

/** one key's window: parallel arrays by second, oldest first (FerretDB stores no nested arrays) */
export interface RateWindow {
  secs: number[];
  requests: number[];
  /** billed tokens of the requests that ended */
  tokens: number[];
  /** tokens held by requests in flight */
  held: number[];
}

export type Admission =
  | { ok: true; ticket: LimitTicket }
  | { ok: false; code: "RATE_LIMIT.REQUESTS" | "RATE_LIMIT.TOKENS"; retryAfterSeconds: number; detail: string };

export interface LimitTicket {
  /** the request ended with this many billed tokens (0 for a failed request) */
  finish(tokens: number): void;
}

type Bucket = { requests: number; tokens: number; held: number };
/** an admission as decided on the window: refused, or admitted in second `sec` holding `held` tokens */
type Decided = Extract<Admission, { ok: false }> | { ok: true; sec: number; held: number };
type Op =
  | { kind: "admit"; limits: ApiKeyLimits; tokens: number; resolve: (d: Decided) => void; reject: (e: unknown) => void }
  | { kind: "finish"; sec: number; held: number; billed: number };

interface KeyQueue {
  chain: Chain<RateWindow>;
  /** the latest version this instance knows; undefined: read it first */
  base?: Version<RateWindow> | null;
  ops: Op[];
  running: boolean;
  inFlight: number;
  lastUsed: number;
}

const sum = (buckets: Map<number, Bucket>, field: keyof Bucket) => [...buckets.values()].reduce((n, b) => n + b[field], 0);

/** seconds to wait until the oldest seconds, leaving the window, free `needed` of `field` */
function waitFor(buckets: Map<number, Bucket>, field: "requests" | "tokens", needed: number, nowMs: number): number | undefined {
  let freed = 0;
  for (const [sec, b] of [...buckets].sort(([a], [c]) => a - c)) {
    freed += b[field];
    if (freed >= needed) return Math.max(1, Math.ceil(((sec + WINDOW_S + 1) * 1000 - nowMs) / 1000));
  }
  return undefined;
}

function admit(buckets: Map<number, Bucket>, op: Extract<Op, { kind: "admit" }>, sec: number, nowMs: number): Decided {
  const { requestsPerMinute: rpm, tokensPerMinute: tpm } = op.limits;
  const requests = sum(buckets, "requests");
  if (rpm !== undefined && requests >= rpm) {
    const retryAfterSeconds = waitFor(buckets, "requests", requests - rpm + 1, nowMs) ?? 1;
    return { ok: false, code: "RATE_LIMIT.REQUESTS", retryAfterSeconds, detail: `more than ${rpm} requests per minute for this key` };
  }
  const held = tpm === undefined ? 0 : Math.min(op.tokens, tpm);
  if (tpm !== undefined) {
    const used = sum(buckets, "tokens") + sum(buckets, "held");
    if (used + held > tpm) {
      // holds in flight free up when their requests end: retry soon unless billed tokens must age out
      const retryAfterSeconds = waitFor(buckets, "tokens", used + held - tpm, nowMs) ?? 1;
      return { ok: false, code: "RATE_LIMIT.TOKENS", retryAfterSeconds, detail: `more than ${tpm} tokens per minute for this key` };
    }
  }
  const b = buckets.get(sec) ?? { requests: 0, tokens: 0, held: 0 };
  buckets.set(sec, { requests: b.requests + 1, tokens: b.tokens, held: b.held + held });
  return { ok: true, sec, held };
}

function load(window: RateWindow | undefined, sec: number): Map<number, Bucket> {
  const buckets = new Map<number, Bucket>();
  window?.secs.forEach((s, i) => {
    if (s >= sec - WINDOW_S) buckets.set(s, { requests: window.requests[i]!, tokens: window.tokens[i]!, held: window.held[i]! });
  });
  return buckets;
}

function save(buckets: Map<number, Bucket>): RateWindow {
  const entries = [...buckets].sort(([a], [b]) => a - b);
  return {
    secs: entries.map(([s]) => s),
    requests: entries.map(([, b]) => b.requests),
    tokens: entries.map(([, b]) => b.tokens),
    held: entries.map(([, b]) => b.held),
  };
}

export class KeyLimiter {
  private readonly keys = new Map<string, KeyQueue>();
  private indexed: Promise<void> | undefined;

  constructor(
    private readonly reads: ReadStore,
    private readonly now: () => number = Date.now,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  async admit(keyId: string, limits: ApiKeyLimits, estimatedTokens: number): Promise<Admission> {
    const queue = this.queue(keyId);
    if (limits.requestsPerMinute === undefined && limits.tokensPerMinute === undefined) return this.admitted(queue, undefined);
    const decided = await new Promise<Decided>((resolve, reject) => {
      queue.ops.push({ kind: "admit", limits, tokens: estimatedTokens, resolve, reject });
      this.drain(queue);
    });
    if (!decided.ok) return decided;
    return this.admitted(queue, limits.tokensPerMinute === undefined ? undefined : decided);
  }

  /** requests of this key in flight in this instance */
  inFlight(keyId: string): number {
    return this.keys.get(keyId)?.inFlight ?? 0;
  }

  /** forgets keys idle for a minute (called periodically) */
  prune() {
    for (const [keyId, q] of this.keys) {
      if (!q.running && q.ops.length === 0 && q.inFlight === 0 && this.now() - q.lastUsed >= WINDOW_S * 1000) this.keys.delete(keyId);
    }
  }

  private admitted(queue: KeyQueue, hold: { sec: number; held: number } | undefined): Admission {
    queue.inFlight++;
    let finished = false;
    return {
      ok: true,
      ticket: {
        finish: (billed) => {
          if (finished) return;
          finished = true;
          queue.inFlight--;
          if (!hold) return;
          queue.ops.push({ kind: "finish", sec: hold.sec, held: hold.held, billed });
          this.drain(queue);
        },
      },
    };
  }

  private queue(keyId: string): KeyQueue {
    let q = this.keys.get(keyId);
    if (!q) {
      const chain = versioned<RateWindow>(this.reads.collection<VersionDoc<RateWindow>>(RATE_WINDOWS), keyId, this.now);
      this.keys.set(keyId, (q = { chain, ops: [], running: false, inFlight: 0, lastUsed: 0 }));
    }
    q.lastUsed = this.now();
    return q;
  }

  /** one batch at a time per key; what arrives meanwhile forms the next batch */
  private drain(q: KeyQueue) {
    if (q.running) return;
    q.running = true;
    void (async () => {
      while (q.ops.length > 0) {
        const batch = q.ops.splice(0);
        try {
          await this.decide(q, batch);
        } catch (error) {
          q.base = undefined;
          for (const op of batch) if (op.kind === "admit") op.reject(error);
          if (!batch.some((op) => op.kind === "admit")) this.onError(error); // a true-up was lost: its hold ages out
        }
      }
      q.running = false;
    })();
  }

  private async decide(q: KeyQueue, batch: Op[]) {
    this.indexed ??= this.reads.collection(RATE_WINDOWS).ensureIndex(["chain", "v"]);
    await this.indexed;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const fresh = q.base === undefined;
      if (fresh) q.base = await q.chain.latest();
      const nowMs = this.now();
      const sec = Math.floor(nowMs / 1000);
      const buckets = load(q.base?.state, sec);
      let changed = false;
      const outcomes = batch.map((op) => {
        if (op.kind === "admit") {
          const outcome = admit(buckets, op, sec, nowMs);
          changed ||= outcome.ok;
          return outcome;
        }
        const b = buckets.get(op.sec);
        if (b) {
          buckets.set(op.sec, { requests: b.requests, tokens: b.tokens + op.billed, held: Math.max(0, b.held - op.held) });
          changed = true;
        }
        return undefined;
      });
      if (!changed && !fresh) {
        q.base = undefined; // a refusal is decided on a fresh read, never on what this instance last saw
        continue;
      }
      if (changed) {
        const next = await q.chain.write(q.base ?? null, save(buckets));
        q.base = next ?? undefined;
        if (!next) continue; // another instance moved the window: decide the whole batch again
      }
      batch.forEach((op, i) => op.kind === "admit" && op.resolve(outcomes[i]!));
      return;
    }
    throw new Error(`rate window of a key kept changing under ${MAX_ROUNDS} writes`);
  }
}
