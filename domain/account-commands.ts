import type { Command } from "./decider.ts";
import type { Prices } from "./events.ts";

// Every account command carries the userId (it picks the stream `account-{userId}`), the ids of what it
// creates (transactionId, usageId… chosen by the caller, so retries are recognisable) and, through
// Command, the instant `now` it is decided at. Amounts are integer micro-USD.

export type ProcessPayment = Command<
  "processPayment",
  {
    userId: string;
    paymentId: string;
    transactionId: string;
    amount: number;
    currency: "USD";
    method: string;
    externalRef?: string;
  }
>;

export type RefundPayment = Command<
  "refundPayment",
  {
    userId: string;
    paymentId: string;
    refundId: string;
    transactionId: string;
    /** default: everything not refunded yet */
    amount?: number;
    reason?: string;
  }
>;

export type ManualTransactionType = "credit" | "debit" | "adjustment";

export type CreateTransaction = Command<
  "createTransaction",
  {
    userId: string;
    transactionId: string;
    type: ManualTransactionType;
    /** credit/debit: positive magnitude; adjustment: signed, non-zero */
    amount: number;
    description?: string;
  }
>;

export interface UsageData {
  userId: string;
  usageId: string;
  transactionId: string;
  requestId: string;
  service: string;
  resource: string;
  provider: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
  /** charged as given (the gateway computes it with costOf and caps it) */
  cost: number;
  prices: Prices;
  apiKeyId?: string;
  /** when the usage happened (ISO-8601) */
  timestamp: string;
  /** where the token counts come from: the provider's report, or the gateway's own count (flagged for reconciliation) */
  usageSource?: UsageSource;
}

export type UsageSource = "provider" | "counted";

/**
 * Set by the caller when every id the command records was drawn at random for it (≥ 90 random bits, no
 * caller-chosen id, no Idempotency-Key to derive it from): no earlier event can hold such an id, so an
 * account state that forgot old ids need not ask the event store about them (account-ids.ts). A retry of
 * the same request draws new ids: only commands decided once per draw may say so, or one whose second
 * decision is refused on another ground first (the gateway's settlement: its hold is released by then).
 */
export interface FreshIds {
  freshIds?: true;
}

export type TrackUsage = Command<"trackUsage", UsageData> & FreshIds;

export type ReserveUsage = FreshIds &
  Command<
    "reserveUsage",
    {
      userId: string;
      reservationId: string;
      requestId: string;
      amount: number;
      expiresAt: string;
      apiKeyId?: string;
      /** the key's total budget (micro-USD): refused when its settled spend + active holds + amount exceed it */
      keyBudget?: number;
    }
  >;

/** requestId must be the one the reservation was made with. */
export type SettleUsage = Command<"settleUsage", UsageData & { reservationId: string }> & FreshIds;

export type ReleaseUsage = Command<"releaseUsage", { userId: string; reservationId: string; reason: "failed" | "cancelled" | "expired" }>;

export type AccountCommand = ProcessPayment | RefundPayment | CreateTransaction | TrackUsage | ReserveUsage | SettleUsage | ReleaseUsage;
