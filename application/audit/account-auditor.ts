import type { RecordedEvent } from "../../domain/events.ts";
import { eventHash, GENESIS_HASH } from "../../domain/hash-chain.ts";
import { formatMoney } from "../../domain/money.ts";
import type { BalanceDoc } from "../../projections/balances.ts";

// The per-account check, fed one event at a time in revision order. Unlike domain verifyChain it does
// not stop at the first failure: each event is checked on its own (its content against its own hash,
// its prevHash against the previous stored hash), so every altered event is named, and one altered
// event is named once, not followed by a cascade of failures after it.

export interface AuditProblem {
  code: string;
  detail: string;
  eventId?: string;
  type?: string;
  revision?: number;
  position?: number;
}

interface Fold {
  /** micro-USD: the sum of transaction_created amounts (the ledger) */
  balance: number;
  /** micro-USD: reserved minus released */
  held: number;
  transactions: number;
}

export interface AccountAudit extends Fold {
  userId: string;
  ok: boolean;
  events: number;
  lastRevision: number;
  lastHash: string;
  /** the read model, and the fold at the read model's own position */
  readModel: (Fold & { position: number; expected: Fold }) | null;
  /** the read model has not applied the account's latest balance event yet (not a mismatch) */
  lagging: boolean;
  problems: AuditProblem[];
}

/** tolerant of a tampered, non-numeric amount: the report must still come out */
const usd = (micro: unknown) => (Number.isSafeInteger(micro) ? `${formatMoney(micro as number)} USD` : String(micro));

const BALANCE_EVENTS = new Set(["transaction_created", "usage_reserved", "usage_released"]);

/**
 * `doc` is the balance document read before the events; `projected` the projector's checkpoint read
 * before the document, which tells a document not written yet (lag) from a missing one.
 */
export function accountAuditor(userId: string, doc: BalanceDoc | null, projected = Number.POSITIVE_INFINITY) {
  const fold: Fold = { balance: 0, held: 0, transactions: 0 };
  const problems: AuditProblem[] = [];
  let atDoc: Fold | undefined;
  let previousHash = GENESIS_HASH;
  let nextRevision = 0;
  let events = 0;
  let drift = 0;
  let firstBalanceEvent = 0;
  let lastBalanceEvent = 0;

  const problem = (event: RecordedEvent, code: string, detail: string) =>
    problems.push({ code, detail, eventId: event.metadata.eventId, type: event.type, revision: event.revision, position: event.position });

  function apply(event: RecordedEvent): void {
    if (doc && event.position > doc._position) atDoc ??= { ...fold };
    if (event.revision !== nextRevision)
      problem(event, "STREAM.REVISION_GAP", `expected revision ${nextRevision}, found ${event.revision}`);
    nextRevision = event.revision + 1;
    const owner = (event.data as { userId?: unknown }).userId;
    if (owner !== userId) problem(event, "STREAM.FOREIGN_EVENT", `event of user ${String(owner)} in account ${userId}`);
    const { hash, prevHash } = event.metadata;
    if (typeof hash !== "string" || typeof prevHash !== "string") {
      problem(event, "CHAIN.MISSING_HASH", "event has no prevHash/hash");
    } else {
      if (prevHash !== previousHash)
        problem(event, "CHAIN.BROKEN_LINK", "prevHash is not the hash of the previous event (an event was removed, inserted or re-hashed)");
      if (eventHash(prevHash, event) !== hash)
        problem(event, "CHAIN.HASH_MISMATCH", "content does not match its hash: the event was altered after it was written");
      previousHash = hash;
    }
    switch (event.type) {
      case "transaction_created": {
        fold.balance += event.data.amount;
        fold.transactions++;
        // report where the gap between balanceAfter and the running sum changes, not every event after it
        const gap = event.data.balanceAfter - fold.balance;
        if (gap !== drift)
          problem(
            event,
            "LEDGER.BALANCE_AFTER_MISMATCH",
            `balanceAfter ${usd(event.data.balanceAfter)} but the sum of amounts is ${usd(fold.balance)}`,
          );
        drift = gap;
        break;
      }
      case "usage_reserved":
        fold.held += event.data.amount;
        break;
      case "usage_released":
        fold.held -= event.data.amount;
        break;
      default:
        break;
    }
    if (BALANCE_EVENTS.has(event.type)) {
      firstBalanceEvent ||= event.position;
      lastBalanceEvent = event.position;
    }
    events++;
  }

  function finish(): AccountAudit {
    const expected = atDoc ?? { ...fold };
    let readModel: AccountAudit["readModel"] = null;
    const readProblem = (code: string, detail: string) => problems.push({ code, detail });
    if (doc) {
      readModel = { balance: doc.balance, held: doc.held, transactions: doc.transactions, position: doc._position, expected };
      if (events === 0) readProblem("READ_MODEL.ORPHAN", "a balance document exists for an account without events");
      if (doc.balance !== expected.balance)
        readProblem(
          "READ_MODEL.BALANCE_MISMATCH",
          `read model balance ${usd(doc.balance)}, events give ${usd(expected.balance)} at position ${doc._position}`,
        );
      if (doc.held !== expected.held)
        readProblem(
          "READ_MODEL.HELD_MISMATCH",
          `read model held ${usd(doc.held)}, events give ${usd(expected.held)} at position ${doc._position}`,
        );
      if (doc.transactions !== expected.transactions)
        readProblem(
          "READ_MODEL.TRANSACTIONS_MISMATCH",
          `read model counts ${doc.transactions} transactions, events ${expected.transactions}`,
        );
    } else if (firstBalanceEvent > 0 && firstBalanceEvent <= projected) {
      readProblem("READ_MODEL.MISSING", `the account has balance events projected by position ${projected} but no balance document`);
    }
    const lagging = doc ? doc._position < lastBalanceEvent : lastBalanceEvent > 0;
    return {
      userId,
      ok: problems.length === 0,
      events,
      lastRevision: nextRevision - 1,
      lastHash: previousHash,
      ...fold,
      readModel,
      lagging,
      problems,
    };
  }

  return { apply, finish };
}
