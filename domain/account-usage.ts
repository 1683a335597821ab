import type { ReleaseUsage, ReserveUsage, SettleUsage, UsageData } from "./account-commands.ts";
import { ifDefined, ledger, requireFunds, usd } from "./account-ledger.ts";
import { expiredHolds, keyCommitted, type AccountState, type Hold } from "./account-state.ts";
import { conflict, invalid, ruleViolated } from "./errors.ts";
import type { AccountEvent, AiUsage, TransactionCreated, UsageReleased } from "./events.ts";

// Usage and gateway holds. The usage fields were checked at the edge (POST /billing/usage/track) or
// computed by the gateway (tokens, cost ≤ hold, catalog prices); the rules here are about state.

/** ai_usage + its transaction_created. Never refused for funds: usage already happened, the balance may go below zero. */
export function chargeUsage(data: UsageData, state: AccountState, now: string, reservationId?: string): [AiUsage, TransactionCreated] {
  const { usageId, promptTokens, completionTokens, cost, prices, provider, model } = data;
  if (state.usageIds.has(usageId)) throw conflict("USAGE.DUPLICATE", `usage ${usageId} was already recorded`);
  const usage: AiUsage = {
    type: "ai_usage",
    data: {
      userId: state.userId,
      usageId,
      requestId: data.requestId,
      service: data.service,
      resource: data.resource,
      provider,
      model,
      promptTokens,
      completionTokens,
      tokens: promptTokens + completionTokens,
      cost,
      prices: {
        promptPerMillion: prices.promptPerMillion,
        completionPerMillion: prices.completionPerMillion,
        ...ifDefined("catalogVersion", prices.catalogVersion),
      },
      ...ifDefined("apiKeyId", data.apiKeyId),
      ...ifDefined("reservationId", reservationId),
      timestamp: data.timestamp,
      ...ifDefined("usageSource", data.usageSource),
    },
  };
  const metadata = { usageId, model, provider, ...ifDefined("reservationId", reservationId) };
  return [usage, ledger(state, now)(data.transactionId, "usage", 0 - cost, metadata)];
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
  const nowMs = Date.parse(now);
  const { reservationId, requestId, apiKeyId } = data;
  if (state.reservationIds.has(reservationId)) throw conflict("RESERVATION.DUPLICATE", `reservation ${reservationId} already exists`);
  // a hold holds something, until a later instant: otherwise it would block nothing and expire at once
  const { amount } = data;
  if (!(amount > 0)) throw invalid("MONEY.INVALID", `amount must be greater than 0, got ${usd(amount)}`);
  if (!(Date.parse(data.expiresAt) > nowMs)) throw invalid("COMMAND.INVALID", "expiresAt must be after now");
  if (data.keyBudget !== undefined) {
    const budget = data.keyBudget;
    if (apiKeyId === undefined) throw invalid("COMMAND.INVALID", "keyBudget needs apiKeyId");
    const committed = keyCommitted(state, apiKeyId, nowMs);
    if (committed + amount > budget) {
      throw ruleViolated(
        "API_KEY.BUDGET_EXCEEDED",
        `reservation of ${usd(amount)} exceeds the budget of key ${apiKeyId}: ${usd(committed)} of ${usd(budget)} spent or held`,
      );
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
  return [released(state, data.reservationId, activeHold(state, data.reservationId), data.reason)];
}
