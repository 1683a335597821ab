import { notFound } from "../../domain/errors.ts";
import type { EventStore } from "../../domain/event-store.ts";
import { accountStream, type RecordedEvent } from "../../domain/events.ts";

// Auditors' reads: they come from the account stream itself, never from a read model.

async function accountEvents(events: EventStore, userId: string, fromRevision = 0): Promise<RecordedEvent[]> {
  const stream = await events.readStream(accountStream(userId), fromRevision);
  if (stream.length === 0 && (fromRevision === 0 || (await events.readStream(accountStream(userId))).length === 0)) {
    throw notFound("ACCOUNT.NOT_FOUND", `account ${userId} not found`);
  }
  return stream;
}

/**
 * The balance at instant `asOf`: the sum of the amounts of every transaction that occurred at or before
 * it. Summed over the whole stream rather than cut at the first later event, so the answer does not
 * depend on occurredAt being monotonic within a stream (a retried command keeps its original time).
 */
export async function balanceAsOf(p: { events: EventStore }, userId: string, asOf: string) {
  const events = await accountEvents(p.events, userId);
  const at = Date.parse(asOf);
  let balance = 0;
  let position = 0;
  let transactions = 0;
  let updatedAt: string | null = null;
  for (const event of events) {
    if (event.type !== "transaction_created" || Date.parse(event.metadata.occurredAt) > at) continue;
    balance += event.data.amount;
    transactions++;
    position = Math.max(position, event.position);
    if (updatedAt === null || event.metadata.occurredAt > updatedAt) updatedAt = event.metadata.occurredAt;
  }
  return { userId, balance, currency: "USD" as const, asOf, updatedAt, position, transactions };
}

export interface TrailOptions {
  fromRevision?: number;
  limit?: number;
  types?: readonly string[];
}

/**
 * An account's history in stream order, with everything needed to verify it independently: each item's
 * `data` and `metadata` are exactly what was hashed (money as integer micro-USD), so
 * hash = sha256(prevHash + canonicalJson({type, data, metadata without hash})).
 */
export async function auditTrail(events: EventStore, userId: string, options: TrailOptions = {}) {
  const { fromRevision = 0, limit = 500 } = options;
  const types = options.types && options.types.length > 0 ? new Set(options.types) : undefined;
  const stream = await accountEvents(events, userId, fromRevision);
  const items = [];
  let nextRevision: number | null = null;
  for (const e of stream) {
    if (types && !types.has(e.type)) continue;
    if (items.length === limit) {
      nextRevision = e.revision;
      break;
    }
    const m = e.metadata;
    const money = e.type === "transaction_created" ? { amount: e.data.amount, balanceAfter: e.data.balanceAfter } : {};
    items.push({
      position: e.position,
      revision: e.revision,
      eventId: m.eventId,
      type: e.type,
      occurredAt: m.occurredAt,
      actor: m.actor,
      correlationId: m.correlationId,
      causationId: m.causationId,
      prevHash: m.prevHash ?? null,
      hash: m.hash ?? null,
      ...money,
      data: e.data,
      metadata: m,
    });
  }
  return { userId, stream: accountStream(userId), items, nextRevision };
}
