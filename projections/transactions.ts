import type { TransactionType } from "../domain/events.ts";
import type { Doc } from "./read-store.ts";
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

export const transactionProjection: Projection<TransactionDoc> = {
  name: "transactions",
  collection: "transactions",
  handles: ["transaction_created"],
  ids: (event) => (event.type === "transaction_created" ? [event.data.transactionId] : []),
  evolve(_doc, event, id) {
    if (event.type !== "transaction_created") throw new Error(`unexpected ${event.type}`);
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
