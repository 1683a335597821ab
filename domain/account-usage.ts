import type { ReleaseUsage, ReserveUsage, SettleUsage, UsageData } from "./account-commands.ts";
import { ifDefined, ledger, requireFunds, usd } from "./account-ledger.ts";
import { expiredHolds, keyCommitted, type AccountState, type Hold } from "./account-state.ts";
import { conflict, invalid, ruleViolated } from "./errors.ts";
import type { AccountEvent, AiUsage, Prices, TransactionCreated, UsageReleased } from "./events.ts";
import { isPlainObject, optionalText, requireAmount, requireCount, requireInstant, requireText } from "./validate.ts";

const USAGE_SOURCES: readonly unknown[] = ["provider", "counted"];

/** ai_usage + its transaction_created. Never refused for funds: usage already happened, the balance may go below zero. */
export function chargeUsage(data: UsageData, state: AccountState, now: string, reservationId?: string): [AiUsage, TransactionCreated] {
  const usageId = requireText(data.usageId, "usageId");
  if (state.usageIds.has(usageId)) throw conflict("USAGE.DUPLICATE", `usage ${usageId} was already recorded`);
  const promptTokens = requireCount(data.promptTokens, "promptTokens");
  const completionTokens = requireCount(data.completionTokens, "completionTokens");
  const cost = requireAmount(data.cost, "cost", "nonNegative");
  const prices: Partial<Prices> = isPlainObject(data.prices) ? data.prices : {};
  const provider = requireText(data.provider, "provider");
  const model = requireText(data.model, "model");
  requireInstant(data.timestamp, "timestamp");
  if (data.usageSource !== undefined && !USAGE_SOURCES.includes(data.usageSource)) {
    throw invalid("COMMAND.INVALID", "usageSource must be provider or counted");
  }
  const usage: AiUsage = {
    type: "ai_usage",
    data: {
      userId: state.userId,
      usageId,
      requestId: requireText(data.requestId, "requestId"),
      service: requireText(data.service, "service"),
      resource: requireText(data.resource, "resource"),
      provider,
      model,
      promptTokens,
      completionTokens,
      tokens: requireCount(promptTokens + completionTokens, "tokens"),
      cost,
      prices: {
        promptPerMillion: requireAmount(prices.promptPerMillion, "prices.promptPerMillion", "nonNegative"),
        completionPerMillion: requireAmount(prices.completionPerMillion, "prices.completionPerMillion", "nonNegative"),
        ...ifDefined("catalogVersion", optionalText(prices.catalogVersion, "prices.catalogVersion")),
      },
      ...ifDefined("apiKeyId", optionalText(data.apiKeyId, "apiKeyId")),
      ...ifDefined("reservationId", reservationId),
      timestamp: data.timestamp,
      ...ifDefined("usageSource", data.usageSource),
    },
  };
  const transactionId = requireText(data.transactionId, "transactionId");
  const metadata = { usageId, model, provider, ...ifDefined("reservationId", reservationId) };
  return [usage, ledger(state, now)(transactionId, "usage", 0 - cost, metadata)];
}

const released = (state: AccountState, reservationId: string, hold: Hold, reason: UsageReleased["data"]["reason"]): UsageReleased => ({
  type: "usage_released",
  data: { userId: state.userId, reservationId, requestId: hold.requestId, amount: hold.amount, reason },
});

function activeHold(state: AccountState, reservationId: string): Hold {
  const hold = state.holds.get(reservationId);
  if (!hold) throw conflict("RESERVATION.NOT_ACTIVE", `reservation ${reservationId} is unknown or already released`);
  return hold;
}

/**
 * Holds `amount` against the available balance (refused with insufficient_funds → 402). Expired holds
 * found now are released FIRST in the same append (lazy expiry), so a hold never leaks past its expiry
 * into the stream's state for longer than the next reservation.
 */
export function reserveUsage({ data, now }: ReserveUsage, state: AccountState): AccountEvent[] {
  const nowMs = requireInstant(now, "now");
  const reservationId = requireText(data.reservationId, "reservationId");
  if (state.reservationIds.has(reservationId)) throw conflict("RESERVATION.DUPLICATE", `reservation ${reservationId} already exists`);
  const requestId = requireText(data.requestId, "requestId");
  const amount = requireAmount(data.amount, "amount", "positive");
  if (requireInstant(data.expiresAt, "expiresAt") <= nowMs) throw invalid("COMMAND.INVALID", "expiresAt must be after now");
  const apiKeyId = optionalText(data.apiKeyId, "apiKeyId");
  if (data.keyBudget !== undefined) {
    const budget = requireAmount(data.keyBudget, "keyBudget", "nonNegative");
    if (apiKeyId === undefined) throw invalid("COMMAND.INVALID", "keyBudget needs apiKeyId");
    const committed = keyCommitted(state, apiKeyId, nowMs);
    if (committed + amount > budget) {
      throw ruleViolated("API_KEY.BUDGET_EXCEEDED", `reservation of ${usd(amount)} exceeds the budget of key ${apiKeyId}: ${usd(committed)} of ${usd(budget)} spent or held`);
    }
  }
  requireFunds(state, now, amount, "reservation");
  return [
    ...expiredHolds(state, nowMs).map(([id, hold]) => released(state, id, hold, "expired")),
    {
      type: "usage_reserved",
      data: { userId: state.userId, reservationId, requestId, amount, expiresAt: data.expiresAt, ...ifDefined("apiKeyId", apiKeyId) },
    },
  ];
}

/** The charge and the release of its hold in one atomic append; an expired but unreleased hold still settles. */
export function settleUsage({ data, now }: SettleUsage, state: AccountState): AccountEvent[] {
  const hold = activeHold(state, data.reservationId);
  if (data.requestId !== hold.requestId) {
    throw invalid("RESERVATION.REQUEST_MISMATCH", `reservation ${data.reservationId} belongs to request ${hold.requestId}`);
  }
  const usage = data.apiKeyId === undefined && hold.apiKeyId !== undefined ? { ...data, apiKeyId: hold.apiKeyId } : data;
  return [...chargeUsage(usage, state, now, data.reservationId), released(state, data.reservationId, hold, "settled")];
}

export function releaseUsage({ data }: ReleaseUsage, state: AccountState): AccountEvent[] {
  if (!["failed", "cancelled", "expired"].includes(data.reason)) {
    throw invalid("COMMAND.INVALID", "reason must be failed, cancelled or expired");
  }
  return [released(state, data.reservationId, activeHold(state, data.reservationId), data.reason)];
}
