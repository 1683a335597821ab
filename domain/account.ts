import type { AccountCommand, CreateTransaction, ProcessPayment, RefundPayment } from "./account-commands.ts";
import { ifDefined, ledger, requireFunds, usd } from "./account-ledger.ts";
import { evolveAccount, initialAccountState, type AccountEventInput, type AccountState } from "./account-state.ts";
import { chargeUsage, releaseUsage, reserveUsage, settleUsage } from "./account-usage.ts";
import { streamId, type Decider, type FoldableEvent } from "./decider.ts";
import { conflict, invalid, notFound, ruleViolated } from "./errors.ts";
import { ACCOUNT_EVENT_TYPES, type AccountEvent, type DomainEvent } from "./events.ts";
import { optionalText, requireAmount, requireInstant, requireText } from "./validate.ts";

// The account decider: one stream `account-{userId}` per user. Every balance change is exactly one
// transaction_created; balanceAfter is exact and sequential within a decision.

export * from "./account-commands.ts";
export * from "./account-state.ts";

function processPayment({ data, now }: ProcessPayment, state: AccountState): AccountEvent[] {
  const paymentId = requireText(data.paymentId, "paymentId");
  if (state.payments.has(paymentId)) throw conflict("PAYMENT.DUPLICATE", `payment ${paymentId} was already processed`);
  const amount = requireAmount(data.amount, "amount", "positive");
  if (data.currency !== "USD") throw invalid("PAYMENT.UNSUPPORTED_CURRENCY", `currency ${String(data.currency)} is not supported`);
  const method = requireText(data.method, "method");
  const externalRef = optionalText(data.externalRef, "externalRef", 500);
  const transactionId = requireText(data.transactionId, "transactionId");
  return [
    {
      type: "payment_processed",
      data: { userId: state.userId, paymentId, amount, currency: "USD", method, ...ifDefined("externalRef", externalRef) },
    },
    ledger(state, now)(transactionId, "payment", amount, { paymentId }),
  ];
}

/** Checks in order: unknown payment (404), duplicate refund (409), amount, over-refund (422), funds (402). */
function refundPayment({ data, now }: RefundPayment, state: AccountState): AccountEvent[] {
  const payment = state.payments.get(data.paymentId);
  if (!payment) throw notFound("PAYMENT.NOT_FOUND", `payment ${data.paymentId} not found`);
  const refundId = requireText(data.refundId, "refundId");
  if (state.refundIds.has(refundId)) throw conflict("REFUND.DUPLICATE", `refund ${refundId} already exists`);
  const refundable = payment.amount - payment.refunded;
  if (data.amount === undefined && refundable === 0) {
    throw ruleViolated("PAYMENT.OVER_REFUND", `payment ${data.paymentId} is already fully refunded`);
  }
  const amount = requireAmount(data.amount ?? refundable, "amount", "positive");
  if (amount > refundable) {
    throw ruleViolated("PAYMENT.OVER_REFUND", `refund of ${usd(amount)} exceeds the ${usd(refundable)} left on payment ${data.paymentId}`);
  }
  requireFunds(state, now, amount, "refund");
  const reason = optionalText(data.reason, "reason", 500);
  const transactionId = requireText(data.transactionId, "transactionId");
  return [
    { type: "payment_refunded", data: { userId: state.userId, paymentId: data.paymentId, refundId, amount, ...ifDefined("reason", reason) } },
    ledger(state, now)(transactionId, "refund", 0 - amount, { paymentId: data.paymentId, refundId }),
  ];
}

function createTransaction({ data, now }: CreateTransaction, state: AccountState): AccountEvent[] {
  const transactionId = requireText(data.transactionId, "transactionId");
  let signed: number;
  switch (data.type) {
    case "credit":
      signed = requireAmount(data.amount, "amount", "positive");
      break;
    case "debit":
      signed = 0 - requireAmount(data.amount, "amount", "positive");
      break;
    case "adjustment":
      signed = requireAmount(data.amount, "amount", "nonZero");
      break;
    default: {
      const type: never = data.type;
      throw invalid("COMMAND.INVALID", `type must be credit, debit or adjustment, got ${String(type)}`);
    }
  }
  const description = optionalText(data.description, "description", 500);
  const append = ledger(state, now);
  if (signed < 0) requireFunds(state, now, 0 - signed, data.type);
  return [append(transactionId, data.type, signed, description === undefined ? {} : { description })];
}

/** Pure: reads `state`, never mutates it. Events come without metadata: the handler adds it and the hash chain. */
export function decideAccount(command: AccountCommand, state: AccountState): AccountEvent[] {
  requireInstant(command.now, "now");
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

export const isAccountEvent = <E extends DomainEvent>(event: E): event is Extract<E, AccountEvent> =>
  ACCOUNT_TYPES.has(event.type);

/** Shaped for the command handler: initialState takes the stream name `account-{userId}`; evolve mutates in place. */
export const accountDecider: Decider<AccountCommand, FoldableEvent, AccountState> & {
  lastHash(state: AccountState): string;
} = {
  decide: decideAccount,
  evolve: (state, event) => (isAccountEvent(event) ? evolveAccount(state, event as AccountEventInput) : state),
  initialState: (stream) => initialAccountState(streamId(stream, "account-")),
  lastHash: (state) => state.lastHash,
};
