import type { AccountCommand, CreateTransaction, ProcessPayment, RefundPayment } from "./account-commands.ts";
import { ifDefined, ledger, requireFunds, usd } from "./account-ledger.ts";
import { evolveAccount, initialAccountState, type AccountEventInput, type AccountState } from "./account-state.ts";
import { accountStateBytes, forgetOldIds, idsToLookUp, recallIds } from "./account-ids.ts";
import { chargeUsage, releaseUsage, reserveUsage, settleUsage } from "./account-usage.ts";
import { streamId, type Decider, type FoldableEvent } from "./decider.ts";
import { conflict, invalid, notFound, ruleViolated } from "./errors.ts";
import { ACCOUNT_EVENT_TYPES, type AccountEvent, type DomainEvent } from "./events.ts";

// The account decider: one stream `account-{userId}` per user. Every balance change is exactly one
// transaction_created; balanceAfter is exact and sequential within a decision.
// It checks state and business rules; the input (ids, amounts and their signs, texts, instants) was
// checked at the edge (zod, apps/api/routes) or built by the use case, so it is not checked again here.

export * from "./account-commands.ts";
export * from "./account-state.ts";
export { RECENT_IDS } from "./account-ids.ts";

function processPayment({ data, now }: ProcessPayment, state: AccountState): AccountEvent[] {
  const { paymentId, amount, method, externalRef } = data;
  if (state.payments.has(paymentId)) throw conflict("PAYMENT.DUPLICATE", `payment ${paymentId} was already processed`);
  return [
    {
      type: "payment_processed",
      data: { userId: state.userId, paymentId, amount, currency: "USD", method, ...ifDefined("externalRef", externalRef) },
    },
    ledger(state, now)(data.transactionId, "payment", amount, { paymentId }),
  ];
}

/** Checks in order: unknown payment (404), duplicate refund (409), over-refund (422), funds (402). */
function refundPayment({ data, now }: RefundPayment, state: AccountState): AccountEvent[] {
  const { paymentId, refundId, reason } = data;
  const payment = state.payments.get(paymentId);
  if (!payment) throw notFound("PAYMENT.NOT_FOUND", `payment ${paymentId} not found`);
  if (state.refundIds.has(refundId)) throw conflict("REFUND.DUPLICATE", `refund ${refundId} already exists`);
  const refundable = payment.amount - payment.refunded;
  if (data.amount === undefined && refundable === 0) {
    throw ruleViolated("PAYMENT.OVER_REFUND", `payment ${paymentId} is already fully refunded`);
  }
  const amount = data.amount ?? refundable;
  if (amount > refundable) {
    throw ruleViolated("PAYMENT.OVER_REFUND", `refund of ${usd(amount)} exceeds the ${usd(refundable)} left on payment ${paymentId}`);
  }
  requireFunds(state, now, amount, "refund");
  return [
    { type: "payment_refunded", data: { userId: state.userId, paymentId, refundId, amount, ...ifDefined("reason", reason) } },
    ledger(state, now)(data.transactionId, "refund", 0 - amount, { paymentId, refundId }),
  ];
}

/** A credit adds its amount, a debit takes it (given as a magnitude), an adjustment is signed. */
function createTransaction({ data, now }: CreateTransaction, state: AccountState): AccountEvent[] {
  const signed = data.type === "debit" ? 0 - data.amount : data.amount;
  const append = ledger(state, now);
  if (signed < 0) requireFunds(state, now, 0 - signed, data.type);
  return [append(data.transactionId, data.type, signed, data.description === undefined ? {} : { description: data.description })];
}

/** Pure: reads `state`, never mutates it. Events come without metadata: the handler adds it and the hash chain. */
export function decideAccount(command: AccountCommand, state: AccountState): AccountEvent[] {
  if (command.data.userId !== state.userId) {
    throw invalid("ACCOUNT.USER_MISMATCH", `command for user ${command.data.userId} sent to account ${state.userId}`);
  }
  switch (command.type) {
    case "processPayment":
      return processPayment(command, state);
    case "refundPayment":
      return refundPayment(command, state);
    case "createTransaction":
      return createTransaction(command, state);
    case "trackUsage":
      return chargeUsage(command.data, state, command.now);
    case "reserveUsage":
      return reserveUsage(command, state);
    case "settleUsage":
      return settleUsage(command, state);
    case "releaseUsage":
      return releaseUsage(command, state);
    default: {
      const unknown: never = command;
      throw invalid("COMMAND.UNKNOWN", `unknown account command ${(unknown as { type: string }).type}`);
    }
  }
}

const ACCOUNT_TYPES: ReadonlySet<string> = new Set(ACCOUNT_EVENT_TYPES);

export const isAccountEvent = <E extends DomainEvent>(event: E): event is Extract<E, AccountEvent> => ACCOUNT_TYPES.has(event.type);

/** Shaped for the command handler: initialState takes the stream name `account-{userId}`; evolve mutates in place. */
export const accountDecider: Decider<AccountCommand, FoldableEvent, AccountState> & {
  lastHash(state: AccountState): string;
} = {
  decide: decideAccount,
  evolve: (state, event) => (isAccountEvent(event) ? evolveAccount(state, event as AccountEventInput) : state),
  initialState: (stream) => initialAccountState(streamId(stream, "account-")),
  lastHash: (state) => state.lastHash,
  weigh: accountStateBytes,
  usedIds: { toLookUp: idsToLookUp, recall: recallIds, forget: forgetOldIds },
};
