import type { AccountEvent, EventMetadata } from "./events.ts";
import { GENESIS_HASH } from "./hash-chain.ts";

export interface Hold {
  amount: number;
  requestId: string;
  expiresAt: string;
  /** expiresAt as epoch ms, parsed once when the hold is folded */
  expiresAtMs: number;
  apiKeyId?: string;
}

export interface PaymentRecord {
  amount: number;
  refunded: number;
}

export interface AccountState {
  /** true once the stream has any event */
  exists: boolean;
  userId: string;
  /** micro-USD; goes below zero only through usage */
  balance: number;
  /** active gateway holds by reservationId (settled, failed, cancelled and expired ones are removed) */
  holds: Map<string, Hold>;
  payments: Map<string, PaymentRecord>;
  /** hash of the last event, to chain the next append onto */
  lastHash: string;
  /** occurredAt of the last event */
  lastTimestamp?: string;
  transactionIds: Set<string>;
  refundIds: Set<string>;
  usageIds: Set<string>;
  /** every reservationId ever used, active or not: a reservation id is never reused */
  reservationIds: Set<string>;
  /** the four id sets above hold only recent ids: an id not in them may still be used (account-ids.ts) */
  forgotIds: boolean;
  /** settled usage cost per apiKeyId (micro-USD), for key budgets */
  keySpend: Map<string, number>;
}

export const initialAccountState = (userId: string): AccountState => ({
  exists: false,
  userId,
  balance: 0,
  holds: new Map(),
  payments: new Map(),
  lastHash: GENESIS_HASH,
  transactionIds: new Set(),
  refundIds: new Set(),
  usageIds: new Set(),
  reservationIds: new Set(),
  forgotIds: false,
  keySpend: new Map(),
});

export type AccountEventInput = AccountEvent & { metadata?: EventMetadata };

/**
 * Applies one event IN PLACE and returns the same object: evolve takes ownership of `state` and its
 * maps/sets (it runs on every command, so it does not copy). Keep a state you must not see change
 * out of evolve. Event types this version does not know are skipped, so old code can fold new streams.
 */
export function evolveAccount(state: AccountState, event: AccountEventInput): AccountState {
  state.exists = true;
  switch (event.type) {
    case "payment_processed":
      state.payments.set(event.data.paymentId, { amount: event.data.amount, refunded: 0 });
      break;
    case "payment_refunded": {
      const payment = state.payments.get(event.data.paymentId);
      if (payment) payment.refunded += event.data.amount;
      state.refundIds.add(event.data.refundId);
      break;
    }
    case "transaction_created":
      // the ledger is the sum of amounts; balanceAfter is its checkpoint (see reconciliation)
      state.balance += event.data.amount;
      state.transactionIds.add(event.data.transactionId);
      break;
    case "ai_usage": {
      const { usageId, apiKeyId, cost } = event.data;
      state.usageIds.add(usageId);
      if (apiKeyId !== undefined) state.keySpend.set(apiKeyId, (state.keySpend.get(apiKeyId) ?? 0) + cost);
      break;
    }
    case "usage_reserved": {
      const { reservationId, amount, requestId, expiresAt, apiKeyId } = event.data;
      const hold: Hold = { amount, requestId, expiresAt, expiresAtMs: Date.parse(expiresAt) };
      if (apiKeyId !== undefined) hold.apiKeyId = apiKeyId;
      state.holds.set(reservationId, hold);
      state.reservationIds.add(reservationId);
      break;
    }
    case "usage_released":
      state.holds.delete(event.data.reservationId);
      break;
    default: {
      const _unknown: never = event;
      break;
    }
  }
  if (event.metadata) {
    if (event.metadata.hash) state.lastHash = event.metadata.hash;
    state.lastTimestamp = event.metadata.occurredAt;
  }
  return state;
}

/** Holds whose expiry is at or before `nowMs`, in the order they were placed. */
export function expiredHolds(state: AccountState, nowMs: number): [string, Hold][] {
  return [...state.holds].filter(([, hold]) => !(hold.expiresAtMs > nowMs));
}

/** settled spend + unexpired holds of one API key at `nowMs` (micro-USD), for key budgets */
export function keyCommitted(state: AccountState, apiKeyId: string, nowMs: number): number {
  let committed = state.keySpend.get(apiKeyId) ?? 0;
  for (const hold of state.holds.values()) if (hold.apiKeyId === apiKeyId && hold.expiresAtMs > nowMs) committed += hold.amount;
  return committed;
}

/** balance − unexpired holds, in micro-USD (negative when usage overdrew the account). */
export function availableBalance(state: AccountState, now: string | number): number {
  const nowMs = typeof now === "number" ? now : Date.parse(now);
  if (Number.isNaN(nowMs)) throw new TypeError(`availableBalance: bad time ${now}`); // NaN would expire every hold
  let held = 0;
  for (const hold of state.holds.values()) if (hold.expiresAtMs > nowMs) held += hold.amount;
  return state.balance - held;
}
