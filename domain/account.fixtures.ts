import { accountDecider, type AccountCommand, type UsageData } from "./account.ts";
import type { AccountEvent, TransactionCreated, UsageReleased } from "./events.ts";
import { deciderSpec } from "./testing.ts";

// Builders shared by the account specs: one user "u1", amounts in micro-USD.

export const USD = 1_000_000;
export const NOW = "2025-03-01T12:00:00.000Z";
export const LATER = "2025-03-01T12:05:00.000Z";
const EXPIRES = "2025-03-01T12:01:00.000Z";
export const { given } = deciderSpec(accountDecider, "account-u1");

// events
export const paid = (paymentId: string, amount: number): AccountEvent => ({
  type: "payment_processed",
  data: { userId: "u1", paymentId, amount, currency: "USD", method: "card" },
});

export const txn = (
  transactionId: string,
  type: TransactionCreated["data"]["type"],
  amount: number,
  balanceAfter: number,
  metadata: Record<string, string> = {},
  timestamp = NOW,
): TransactionCreated => ({
  type: "transaction_created",
  data: { userId: "u1", transactionId, amount, type, balanceAfter, timestamp, metadata },
});

export const topUp = (paymentId: string, amount: number, balanceAfter = amount): AccountEvent[] => [
  paid(paymentId, amount),
  txn(`txn_${paymentId}`, "payment", amount, balanceAfter, { paymentId }),
];

export const refunded = (paymentId: string, refundId: string, amount: number): AccountEvent => ({
  type: "payment_refunded",
  data: { userId: "u1", paymentId, refundId, amount },
});

export const reserved = (reservationId: string, amount: number, expiresAt = EXPIRES): AccountEvent => ({
  type: "usage_reserved",
  data: { userId: "u1", reservationId, requestId: `req_${reservationId}`, amount, expiresAt },
});

export const released = (reservationId: string, amount: number, reason: UsageReleased["data"]["reason"]): AccountEvent => ({
  type: "usage_released",
  data: { userId: "u1", reservationId, requestId: `req_${reservationId}`, amount, reason },
});

export const usage = (usageId: string, cost: number, extra: Partial<UsageData> = {}): UsageData => ({
  userId: "u1",
  usageId,
  transactionId: `txn_${usageId}`,
  requestId: `req_${usageId}`,
  service: "chat",
  resource: "completions",
  provider: "openai",
  model: "gpt-4o-mini",
  promptTokens: 1000,
  completionTokens: 500,
  cost,
  prices: { promptPerMillion: 150_000, completionPerMillion: 600_000 },
  timestamp: NOW,
  ...extra,
});

export const usageEvent = (data: UsageData, reservationId?: string): AccountEvent => {
  const { transactionId: _notInEvent, ...rest } = data;
  const tokens = data.promptTokens + data.completionTokens;
  return { type: "ai_usage", data: { ...rest, tokens, ...(reservationId ? { reservationId } : {}) } };
};

// commands
export const pay = (paymentId: string, amount: number, now = NOW): AccountCommand => ({
  type: "processPayment",
  now,
  data: { userId: "u1", paymentId, transactionId: `txn_${paymentId}`, amount, currency: "USD", method: "card" },
});

export const refund = (paymentId: string, refundId: string, amount?: number): AccountCommand => ({
  type: "refundPayment",
  now: NOW,
  data: { userId: "u1", paymentId, refundId, transactionId: `txn_${refundId}`, ...(amount === undefined ? {} : { amount }) },
});

export const manual = (transactionId: string, type: "credit" | "debit" | "adjustment", amount: number, now = NOW): AccountCommand => ({
  type: "createTransaction",
  now,
  data: { userId: "u1", transactionId, type, amount },
});

export const track = (data: UsageData): AccountCommand => ({ type: "trackUsage", now: NOW, data });

export const reserve = (reservationId: string, amount: number, now = NOW, expiresAt = EXPIRES): AccountCommand => ({
  type: "reserveUsage",
  now,
  data: { userId: "u1", reservationId, requestId: `req_${reservationId}`, amount, expiresAt },
});

export const settle = (reservationId: string, data: UsageData, now = NOW): AccountCommand => ({
  type: "settleUsage",
  now,
  data: { ...data, reservationId },
});

export const release = (reservationId: string, reason: "failed" | "cancelled" | "expired" = "failed"): AccountCommand => ({
  type: "releaseUsage",
  now: NOW,
  data: { userId: "u1", reservationId, reason },
});
