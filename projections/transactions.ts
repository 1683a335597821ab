import type { TransactionType } from "../domain/events.ts";
import type { Doc, Filter, ReadStore } from "./read-store.ts";
import { stamp, type Projection } from "./projection.ts";

export interface TransactionDoc extends Doc {
  transactionId: string;
  userId: string;
  type: TransactionType;
  amount: number;
  balanceAfter: number;
  timestamp: string;
  metadata: Record<string, string>;
  eventId: string;
  revision: number;
}

export const transactionProjection: Projection<TransactionDoc, "transaction_created"> = {
  name: "transactions",
  collection: "transactions",
  handles: ["transaction_created"],
  ids: (event) => [event.data.transactionId],
  evolve(_doc, event, id) {
    const { userId, type, amount, balanceAfter, timestamp, metadata } = event.data;
    return {
      ...stamp(id, event),
      transactionId: id,
      userId,
      type,
      amount,
      balanceAfter,
      timestamp,
      metadata,
      eventId: event.metadata.eventId,
      revision: event.revision,
    };
  },
  indexes: [["userId", "_position"]],
};

/** An account's history, newest first; `before`: the cursor (a position) of the previous page. */
export async function listTransactions(reads: ReadStore, userId: string, limit: number, before?: number) {
  const filter: Filter = before === undefined ? { userId } : { userId, _position: { lt: before } };
  const items = await reads
    .collection<TransactionDoc>(transactionProjection.collection)
    .find(filter, { sort: { _position: -1 }, limit: limit + 1 });
  const page = items.slice(0, limit);
  return { items: page, nextCursor: items.length > limit ? page.at(-1)!._position : null };
}
