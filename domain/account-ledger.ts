import { availableBalance, type AccountState } from "./account-state.ts";
import { conflict, insufficientFunds } from "./errors.ts";
import type { TransactionCreated, TransactionType } from "./events.ts";
import { addMoney, formatMoney } from "./money.ts";

// Helpers shared by the account command functions. All of them read the state, none mutates it.

export const usd = (micro: number) => `${formatMoney(micro)} USD`;

/** `{ [key]: value }`, or `{}` when value is undefined: optional event fields are omitted, never undefined. */
export const ifDefined = <K extends string, V>(key: K, value: V | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;

export type Ledger = (transactionId: string, type: TransactionType, amount: number, metadata: Record<string, string>) => TransactionCreated;

/**
 * Makes transaction_created events for one decision. balanceAfter runs in sequence from the state's
 * balance, so several transactions in one append stay exact; ids are checked against the state and
 * against each other.
 */
export function ledger(state: AccountState, now: string): Ledger {
  let balance = state.balance;
  const used = new Set<string>();
  return (transactionId, type, amount, metadata) => {
    if (state.transactionIds.has(transactionId) || used.has(transactionId)) {
      throw conflict("TRANSACTION.DUPLICATE", `transaction ${transactionId} already exists`);
    }
    used.add(transactionId);
    balance = addMoney(balance, amount);
    return {
      type: "transaction_created",
      data: { userId: state.userId, transactionId, amount, type, balanceAfter: balance, timestamp: now, metadata },
    };
  };
}

/** Refuses when `amount` exceeds balance − unexpired holds at `now`. */
export function requireFunds(state: AccountState, now: string, amount: number, what: string): void {
  const available = availableBalance(state, now);
  if (amount > available) {
    throw insufficientFunds(`${what} of ${usd(amount)} exceeds the available balance of ${usd(available)}`);
  }
}
