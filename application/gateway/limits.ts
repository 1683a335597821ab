import type { ApiKeyLimits } from "../../domain/events.ts";

// Per-key requests and tokens per minute over an exact sliding 60-second window, in this process.
// Requests: the admission times of the last 60 s, oldest first; a request passes while fewer than
// `requestsPerMinute` of them remain, so no 60-second window ever holds more than the limit. Memory
// follows the traffic of the last minute, never the limit (a ring of `requestsPerMinute` slots grew
// to the limit on a key that stayed busy, up to 8 MB at the largest limit).
// Tokens: like money holds, an admitted request reserves its most tokens (prompt estimate + completion
// limit, at most the whole limit) and trues it up to the tokens actually billed when it ends; failed
// requests give theirs back. Several gateway instances each enforce the limit on their own traffic.
// Budgets are not here: they live in the account stream (domain reserveUsage keyBudget), exact across instances.

const WINDOW_MS = 60_000;

interface KeyWindow {
  /** admission times within the window, oldest first (keys with a requests limit only) */
  requests: number[];
  /** [time, tokens] of finished requests, oldest first */
  tokens: [number, number][];
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
    if (rpm !== undefined && w.requests.length >= rpm) {
      const freesASlot = w.requests[w.requests.length - rpm]!; // once it leaves the window, one more may pass
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
      let used = w.inFlightTokens;
      for (const [, t] of w.tokens) used += t;
      if (used + reserved > tpm) {
        let freed = 0;
        let waitMs = 1000; // in-flight reservations block: retry soon
        for (const [at, t] of w.tokens) {
          freed += t;
          if (used - freed + reserved <= tpm) {
            waitMs = at + WINDOW_MS - now;
            break;
          }
        }
        return {
          ok: false,
          code: "RATE_LIMIT.TOKENS",
          retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
          detail: `more than ${tpm} tokens per minute for this key`,
        };
      }
    }
    if (rpm !== undefined) w.requests.push(now);
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
          if (tpm !== undefined && tokens > 0) w.tokens.push([this.now(), tokens]);
        },
      },
    };
  }

  /** requests of this key in flight in this process */
  inFlight(keyId: string): number {
    return this.keys.get(keyId)?.inFlight ?? 0;
  }

  /** admission and token records held across keys (a memory diagnostic: the last minute's traffic) */
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
      w = { requests: [], tokens: [], inFlightTokens: 0, inFlight: 0 };
      this.keys.set(keyId, w);
    }
    while (w.requests.length > 0 && now - w.requests[0]! >= WINDOW_MS) w.requests.shift();
    while (w.tokens.length > 0 && now - w.tokens[0]![0] >= WINDOW_MS) w.tokens.shift();
    return w;
  }
}
