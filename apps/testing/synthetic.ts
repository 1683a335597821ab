import type { EventStore } from "../../domain/event-store.ts";
import { accountStream, type AccountEvent, type NewEvent } from "../../domain/events.ts";
import { chain, GENESIS_HASH } from "../../domain/hash-chain.ts";

// Synthetic but well-formed account histories, appended straight to a store (benchmarks, large tests):
// a top-up, then gateway requests (reserve → usage + charge → release), with hash chains and exact
// balanceAfter, so projections, reconciliation and the relay treat them like real traffic.

const MODELS = [["openai", "gpt-4o-mini"], ["openai", "gpt-4o"], ["openrouter", "anthropic/claude-3.5-sonnet"]] as const;

export function syntheticAccount(userId: string, events: number, startMs: number, stepMs = 1000): NewEvent<AccountEvent>[] {
  const out: AccountEvent[] = [];
  let balance = 0;
  const tx = (transactionId: string, type: "payment" | "usage", amount: number, at: string) => {
    balance += amount;
    out.push({ type: "transaction_created", data: { userId, transactionId, amount, type, balanceAfter: balance, timestamp: at, metadata: {} } });
  };
  const at = (i: number) => new Date(startMs + i * stepMs).toISOString();
  out.push({ type: "payment_processed", data: { userId, paymentId: `${userId}-p0`, amount: 1_000_000_000, currency: "USD", method: "card" } });
  tx(`${userId}-t0`, "payment", 1_000_000_000, at(0));
  for (let n = 1; out.length < events; n++) {
    const [provider, model] = MODELS[n % MODELS.length]!;
    const requestId = `${userId}-r${n}`;
    const promptTokens = 200 + ((n * 37) % 800);
    const completionTokens = 50 + ((n * 53) % 400);
    const cost = promptTokens * 3 + completionTokens * 12;
    out.push({ type: "usage_reserved", data: { userId, reservationId: requestId, requestId, amount: cost * 2, expiresAt: at(n + 60) } });
    out.push({
      type: "ai_usage",
      data: {
        userId, usageId: `${requestId}-u`, requestId, service: "chat", resource: "chat.completions", provider, model,
        promptTokens, completionTokens, tokens: promptTokens + completionTokens, cost,
        prices: { promptPerMillion: 3_000_000, completionPerMillion: 12_000_000 }, reservationId: requestId, timestamp: at(n),
      },
    });
    tx(`${requestId}-t`, "usage", -cost, at(n));
    out.push({ type: "usage_released", data: { userId, reservationId: requestId, requestId, amount: cost * 2, reason: "settled" } });
  }
  const withMeta = out.slice(0, events).map((event, i) => ({
    ...event,
    metadata: {
      eventId: `${userId}-e${i}`, occurredAt: at(Math.ceil(i / 4)), actor: { type: "system" as const, id: "synthetic" },
      correlationId: `${userId}-c${Math.ceil(i / 4)}`, causationId: `${userId}-c${Math.ceil(i / 4)}`, schemaVersion: 1 as const,
    },
  })) as NewEvent<AccountEvent>[];
  return chain(GENESIS_HASH, withMeta);
}

export interface SyntheticOptions {
  accounts: number;
  eventsPerAccount: number;
  startMs?: number;
  stepMs?: number;
  /** events per append */
  chunk?: number;
}

/** Appends every account's history, accounts interleaved chunk by chunk; returns the events appended. */
export async function seedSynthetic(store: EventStore, options: SyntheticOptions): Promise<number> {
  const { accounts, eventsPerAccount, startMs = Date.UTC(2026, 0, 1), stepMs = 1000, chunk = 200 } = options;
  const histories = Array.from({ length: accounts }, (_, i) => ({ stream: accountStream(`user-${i}`), events: syntheticAccount(`user-${i}`, eventsPerAccount, startMs + i * 7, stepMs) }));
  let appended = 0;
  for (let from = 0; from < eventsPerAccount; from += chunk) {
    await Promise.all(histories.map(async ({ stream, events }) => {
      const part = events.slice(from, from + chunk);
      if (part.length === 0) return;
      await store.append(stream, part, from === 0 ? "no_stream" : from - 1);
      appended += part.length;
    }));
  }
  return appended;
}
