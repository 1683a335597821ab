import type { Doc, Filter, ReadStore } from "./read-store.ts";
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

export const balanceProjection: Projection<BalanceDoc, "transaction_created" | "usage_reserved" | "usage_released"> = {
  name: "balances",
  collection: "balances",
  handles: ["transaction_created", "usage_reserved", "usage_released"],
  ids: (event) => [event.data.userId],
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
    }
  },
};

export const balances = (reads: ReadStore) => reads.collection<BalanceDoc>(balanceProjection.collection);

export const getBalance = (reads: ReadStore, userId: string) => balances(reads).get(userId);

/** Accounts whose user id starts with `prefix`, in id order, after the id `after` (the cursor). */
export async function listAccounts(reads: ReadStore, prefix: string, limit: number, after?: string) {
  // ids are ASCII below DEL (apps/api/schemas.ts ID_PATTERN): [prefix, prefix + DEL) holds exactly the ids with that prefix
  const range: Filter = { _id: { gte: prefix, lt: `${prefix}\u007f`, ...(after !== undefined ? { gt: after } : {}) } };
  const [items, total] = await Promise.all([
    balances(reads).find(range, { sort: { _id: 1 }, limit: limit + 1 }),
    balances(reads).count({ _id: { gte: prefix, lt: `${prefix}\u007f` } }),
  ]);
  const page = items.slice(0, limit);
  return { items: page, total, nextCursor: items.length > limit ? page.at(-1)!._id : null };
}
