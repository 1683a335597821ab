import type { Doc } from "./read-store.ts";
import { stamp, type Projection } from "./projection.ts";

export interface BalanceDoc extends Doc {
  userId: string;
  balance: number;
  /** sum of active gateway holds */
  held: number;
  currency: "USD";
  transactions: number;
  updatedAt: string;
}

export const balanceProjection: Projection<BalanceDoc> = {
  name: "balances",
  collection: "balances",
  handles: ["transaction_created", "usage_reserved", "usage_released"],
  ids: (event) => [(event.data as { userId: string }).userId],
  evolve(doc, event, id) {
    const base: BalanceDoc = doc ?? {
      ...stamp(id, event),
      userId: id,
      balance: 0,
      held: 0,
      currency: "USD",
      transactions: 0,
      updatedAt: event.metadata.occurredAt,
    };
    const next = { ...base, ...stamp(id, event), updatedAt: event.metadata.occurredAt };
    switch (event.type) {
      case "transaction_created":
        return { ...next, balance: event.data.balanceAfter, transactions: base.transactions + 1 };
      case "usage_reserved":
        return { ...next, held: base.held + event.data.amount };
      case "usage_released":
        return { ...next, held: base.held - event.data.amount };
      default:
        return next;
    }
  },
};
