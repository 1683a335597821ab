import type { ApiKeyLimits } from "../../domain/events.ts";

// Per-key requests and tokens per minute over a sliding 60-second window, in this process.
// Requests: the admissions of the last 60 s, oldest first; a request passes while fewer than
// `requestsPerMinute` of them remain, so no 60-second window ever holds more than the limit.
// Memory is bounded by count, whatever the limit and the traffic: records less than SLOT_MS apart
// merge into one, stamped with the latest time, so a key holds at most WINDOW_MS / SLOT_MS records of
// each kind (a record per admission held the last minute's traffic: ~10 MB on a key at 3,000 req/s).
// A merged record leaves the window up to SLOT_MS late, never early: the limit is never looser.
// Tokens: like money holds, an admitted request reserves its most tokens (prompt estimate + completion
// limit, at most the whole limit) and trues it up to the tokens actually billed when it ends; failed
// requests give theirs back. Several gateway instances each enforce the limit on their own traffic.
// Budgets are not here: they live in the account stream (domain reserveUsage keyBudget), exact across instances.

const WINDOW_MS = 60_000;
const SLOT_MS = 100;

/** `n` admissions or tokens, the first of them at `from`, the latest at `at` (less than SLOT_MS later) */
interface Slot {
  from: number;
  at: number;
  n: number;
}

interface KeyWindow {
  /** admissions within the window, oldest first (keys with a requests limit only) */
  requests: Slot[];
  requested: number;
  /** tokens of finished requests, oldest first */
  tokens: Slot[];
  spent: number;
  inFlightTokens: number;
  inFlight: number;
}

export type Admission =
  | { ok: true; ticket: LimitTicket }
  | { ok: false; code: "RATE_LIMIT.REQUESTS" | "RATE_LIMIT.TOKENS"; retryAfterSeconds: number; detail: string };

export interface LimitTicket {
  /** the request ended with this many billed tokens (0 for a failed request) */
  finish(tokens: number): void;
}

export class KeyLimiter {
  private readonly keys = new Map<string, KeyWindow>();

  constructor(private readonly now: () => number = Date.now) {}

  admit(keyId: string, limits: ApiKeyLimits, estimatedTokens: number): Admission {
    const now = this.now();
    const w = this.window(keyId, now);
    const rpm = limits.requestsPerMinute;
    if (rpm !== undefined && w.requested >= rpm) {
      const freesASlot = leaveBy(w.requests, w.requested - rpm + 1); // once these leave the window, one more may pass
      return {
        ok: false,
        code: "RATE_LIMIT.REQUESTS",
        retryAfterSeconds: Math.max(1, Math.ceil((freesASlot + WINDOW_MS - now) / 1000)),
        detail: `more than ${rpm} requests per minute for this key`,
      };
    }
    const tpm = limits.tokensPerMinute;
    const reserved = tpm === undefined ? 0 : Math.min(estimatedTokens, tpm);
    if (tpm !== undefined) {
      const used = w.inFlightTokens + w.spent;
      if (used + reserved > tpm) {
        // in-flight reservations block: retry soon; else once enough finished tokens leave the window
        const waitMs = used - w.spent + reserved > tpm ? 1000 : leaveBy(w.tokens, used + reserved - tpm) + WINDOW_MS - now;
        return {
          ok: false,
          code: "RATE_LIMIT.TOKENS",
          retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
          detail: `more than ${tpm} tokens per minute for this key`,
        };
      }
    }
    if (rpm !== undefined) w.requested += record(w.requests, now, 1);
    w.inFlightTokens += reserved;
    w.inFlight++;
    let finished = false;
    return {
      ok: true,
      ticket: {
        finish: (tokens) => {
          if (finished) return;
          finished = true;
          w.inFlightTokens -= reserved;
          w.inFlight--;
          if (tpm !== undefined && tokens > 0) w.spent += record(w.tokens, this.now(), tokens);
        },
      },
    };
  }

  /** requests of this key in flight in this process */
  inFlight(keyId: string): number {
    return this.keys.get(keyId)?.inFlight ?? 0;
  }

  /** admission and token records held across keys (a memory diagnostic: at most 2 × WINDOW_MS / SLOT_MS per key) */
  held(): number {
    let n = 0;
    for (const w of this.keys.values()) n += w.requests.length + w.tokens.length;
    return n;
  }

  /** forgets keys with nothing in flight and nothing in their window (called periodically) */
  prune() {
    const now = this.now();
    for (const [keyId, w] of this.keys) {
      this.window(keyId, now);
      if (w.inFlight === 0 && w.tokens.length === 0 && w.requests.length === 0) this.keys.delete(keyId);
    }
  }

  private window(keyId: string, now: number): KeyWindow {
    let w = this.keys.get(keyId);
    if (!w) {
      w = { requests: [], requested: 0, tokens: [], spent: 0, inFlightTokens: 0, inFlight: 0 };
      this.keys.set(keyId, w);
    }
    while (w.requests.length > 0 && now - w.requests[0]!.at >= WINDOW_MS) w.requested -= w.requests.shift()!.n;
    while (w.tokens.length > 0 && now - w.tokens[0]!.at >= WINDOW_MS) w.spent -= w.tokens.shift()!.n;
    return w;
  }
}

/** adds `n` at `now`, merged into the newest slot when that began less than SLOT_MS ago; returns `n` */
function record(slots: Slot[], now: number, n: number): number {
  const last = slots.at(-1);
  if (last && now - last.from < SLOT_MS) {
    last.at = now;
    last.n += n;
  } else slots.push({ from: now, at: now, n });
  return n;
}

/** the time by which at least `n` of the window's oldest admissions or tokens will have left it, less WINDOW_MS */
function leaveBy(slots: Slot[], n: number): number {
  let left = 0;
  for (const slot of slots) if ((left += slot.n) >= n) return slot.at;
  return slots.at(-1)!.at;
}
