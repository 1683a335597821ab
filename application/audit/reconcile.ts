import type { EventStore } from "../../domain/event-store.ts";
import { accountStream, type RecordedEvent } from "../../domain/events.ts";
import { balances } from "../../projections/balances.ts";
import { LIVE_PROJECTOR, readCheckpoint } from "../../projections/checkpoints.ts";
import type { ReadStore } from "../../projections/read-store.ts";
import { accountAuditor, type AccountAudit } from "./account-auditor.ts";

// Reconciliation: every account's hash chain and ledger recomputed from its events, and the balances
// read model compared with that fold. Used by `aggregator audit verify`, GET /audit/verify/:userId and
// GET /audit/reconcile.
//
// Pitfall: the read model is read BEFORE the events and compared with the fold at the read model's own
// `_position`, so events appended while the check runs (or not yet projected) are lag, not a mismatch.

const ACCOUNT_PREFIX = accountStream("");

/** One account; null when the account has neither events nor a balance document. */
export async function verifyAccount(events: EventStore, reads: ReadStore, userId: string): Promise<AccountAudit | null> {
  const projected = await readCheckpoint(reads, LIVE_PROJECTOR);
  const doc = await balances(reads).get(userId);
  const stream = await events.readStream(accountStream(userId));
  if (stream.length === 0 && !doc) return null;
  const auditor = accountAuditor(userId, doc, projected);
  for (const event of stream) auditor.apply(event);
  return auditor.finish();
}

export interface Reconciliation {
  ok: boolean;
  accounts: number;
  /** account events checked */
  events: number;
  /** head position the scan stopped at */
  headPosition: number;
  /** accounts whose read model has not applied their latest balance event yet (not a mismatch) */
  lagging: number;
  mismatches: AccountAudit[];
}

export interface ReconcileOptions {
  pageSize?: number;
  signal?: AbortSignal;
  onProgress?: (p: { position: number; head: number }) => void;
}

/**
 * All accounts in ONE sequential pass over $all (each stream's events arrive in revision order),
 * holding a small fold per account: O(accounts) memory, no per-account round trips.
 */
export async function reconcileAll(events: EventStore, reads: ReadStore, options: ReconcileOptions = {}): Promise<Reconciliation> {
  const { pageSize = 5000, signal } = options;
  const projected = await readCheckpoint(reads, LIVE_PROJECTOR);
  const docs = new Map((await balances(reads).find({})).map((d) => [d._id, d]));
  const head = await events.headPosition();
  const auditors = new Map<string, ReturnType<typeof accountAuditor>>();
  let position = 0;
  let checked = 0;
  while (position < head && !signal?.aborted) {
    const page: RecordedEvent[] = await events.readAll({ after: position, maxCount: pageSize });
    if (page.length === 0) break;
    for (const event of page) {
      if (event.position > head) break;
      position = event.position;
      if (!event.streamName.startsWith(ACCOUNT_PREFIX)) continue;
      const userId = event.streamName.slice(ACCOUNT_PREFIX.length);
      let auditor = auditors.get(userId);
      if (!auditor) auditors.set(userId, (auditor = accountAuditor(userId, docs.get(userId) ?? null, projected)));
      auditor.apply(event);
      checked++;
    }
    options.onProgress?.({ position, head });
  }
  if (signal?.aborted) throw new Error("reconciliation aborted");
  // documents for accounts that have no events at all
  for (const [userId, doc] of docs) if (!auditors.has(userId)) auditors.set(userId, accountAuditor(userId, doc, projected));
  const results = [...auditors.values()].map((a) => a.finish());
  const mismatches = results.filter((r) => !r.ok).sort((a, b) => a.userId.localeCompare(b.userId));
  return {
    ok: mismatches.length === 0,
    accounts: results.length,
    events: checked,
    headPosition: head,
    lagging: results.filter((r) => r.lagging).length,
    mismatches,
  };
}

/**
 * JSON shape of one account's check, problems as they were found; money through `money`: the CLI
 * formats it (formatMoney), the API keeps integers for its response codec.
 */
export function auditJson<M>(a: AccountAudit, money: (micro: number) => M) {
  const fold = (f: { balance: number; held: number; transactions: number }) => ({
    balance: money(f.balance),
    held: money(f.held),
    transactions: f.transactions,
  });
  return {
    userId: a.userId,
    ok: a.ok,
    events: a.events,
    lastRevision: a.lastRevision,
    lastHash: a.lastHash,
    fromEvents: fold(a),
    readModel: a.readModel && { ...fold(a.readModel), position: a.readModel.position, expectedAtPosition: fold(a.readModel.expected) },
    lagging: a.lagging,
    problems: a.problems,
  };
}
