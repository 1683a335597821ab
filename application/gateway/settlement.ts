import type { UsageSource } from "../../domain/account.ts";
import { DomainError } from "../../domain/errors.ts";
import type { Prices } from "../../domain/events.ts";
import { costOf } from "../../domain/money.ts";
import type { CommandContext } from "../commands/command-handler.ts";
import type { Platform } from "../platform.ts";

// The money side of one gateway request, on the account stream: hold → settle (ai_usage +
// transaction_created + usage_released in ONE append) or release (no charge). Every charge is capped
// at its hold, so neither the balance nor a key budget can be overshot by concurrent requests.

export interface Hold {
  userId: string;
  apiKeyId: string;
  requestId: string;
  reservationId: string;
  usageId: string;
  amount: number;
  expiresAt: string;
  /** when the request started: prices and ai_usage.timestamp use this instant */
  startedAt: string;
}

export interface SettledUsage {
  provider: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
  prices: Prices;
  source: UsageSource;
}

type Accounts = Pick<Platform, "accounts" | "events">;

const isCode = (error: unknown, code: string) => error instanceof DomainError && error.code === code;

/** Appends usage_reserved; refuses with ACCOUNT.INSUFFICIENT_FUNDS or API_KEY.BUDGET_EXCEEDED. */
export async function reserve(p: Accounts, ctx: CommandContext, hold: Hold, keyBudget?: number) {
  const { userId, reservationId, requestId, amount, expiresAt, apiKeyId } = hold;
  const data = { userId, reservationId, requestId, amount, expiresAt, apiKeyId, ...(keyBudget === undefined ? {} : { keyBudget }) };
  // the hold's ids are drawn at random for this request (chat.ts): no earlier event holds them
  return p.accounts.handle(userId, { type: "reserveUsage", now: ctx.now, data, freshIds: true }, ctx);
}

/** The charge in micro-USD: provider tokens × catalog prices, rounded up, capped at the hold. */
export const chargeFor = (usage: Pick<SettledUsage, "promptTokens" | "completionTokens" | "prices">, hold: Pick<Hold, "amount">) =>
  Math.min(costOf(usage.promptTokens, usage.completionTokens, usage.prices), hold.amount);

/**
 * Charges the usage and releases the hold in one append. A hold that was already released (it expired
 * and the sweeper or a later reservation released it) still gets its charge, as plain usage with the
 * same usageId: what was delivered is billed exactly once either way. `holdDurable`, when the
 * settlement may be decided before the hold's append is durable: resolves once it is, rejects when it
 * never will be (then nothing was delivered, and nothing is charged).
 */
export async function settle(p: Accounts, ctx: CommandContext, hold: Hold, usage: SettledUsage, holdDurable?: () => Promise<void>) {
  const cost = chargeFor(usage, hold);
  const data = {
    userId: hold.userId,
    usageId: hold.usageId,
    transactionId: `txn_${hold.usageId}`,
    requestId: hold.requestId,
    service: "chat",
    resource: "chat.completions",
    provider: usage.provider,
    model: usage.model,
    promptTokens: usage.promptTokens,
    completionTokens: usage.completionTokens,
    cost,
    prices: usage.prices,
    apiKeyId: hold.apiKeyId,
    timestamp: hold.startedAt,
    usageSource: usage.source,
  };
  try {
    // freshIds: the usage id was drawn for this request and shown to no one before this records it (chat.ts);
    // decided again, a settlement whose charge committed finds its hold released (FreshIds, account-commands.ts)
    const r = await p.accounts.handle(
      hold.userId,
      { type: "settleUsage", now: ctx.now, data: { ...data, reservationId: hold.reservationId }, freshIds: true },
      ctx,
    );
    return { cost, position: r.position };
  } catch (error) {
    if (!isCode(error, "RESERVATION.NOT_ACTIVE")) throw error;
    await holdDurable?.(); // a hold that was never written is not a released one
    try {
      const r = await p.accounts.handle(hold.userId, { type: "trackUsage", now: ctx.now, data }, ctx);
      return { cost, position: r.position };
    } catch (again) {
      if (isCode(again, "USAGE.DUPLICATE")) return { cost, position: await p.events.headPosition() }; // charged already
      throw again;
    }
  }
}

/** Releases the hold without a charge; a hold already released is fine. */
export async function release(
  p: Accounts,
  ctx: CommandContext,
  hold: Pick<Hold, "userId" | "reservationId">,
  reason: "failed" | "cancelled" | "expired",
) {
  try {
    await p.accounts.handle(
      hold.userId,
      { type: "releaseUsage", now: ctx.now, data: { userId: hold.userId, reservationId: hold.reservationId, reason } },
      ctx,
    );
  } catch (error) {
    if (!isCode(error, "RESERVATION.NOT_ACTIVE")) throw error;
  }
}
