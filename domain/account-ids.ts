import type { AccountCommand } from "./account-commands.ts";
import type { AccountState } from "./account-state.ts";
import { usedIdKey, type OncePerAccount } from "./events.ts";

// An account refuses an id it has used (a transaction, usage, reservation or refund id), for ever. Its
// folded state cannot keep them all — an account of 100k requests would hold ~10 MB of ids, and the
// command handler's bounded cache would then reload whole streams on every command — so, where the
// event store can look ids up (EventStore.usedIds), the state keeps the RECENT_IDS newest of each kind
// and the handler asks the store about the others before deciding. Where it cannot (EventStoreDB), the
// state keeps every id, as before.

/** ids of each kind a state keeps once it may forget */
export const RECENT_IDS = 128;

/** the state's set of used ids, per event type that records one */
const ID_SET = {
  transaction_created: "transactionIds",
  ai_usage: "usageIds",
  usage_reserved: "reservationIds",
  payment_refunded: "refundIds",
} as const satisfies Record<OncePerAccount, keyof AccountState>;

const setOf = (state: AccountState, type: OncePerAccount): Set<string> => state[ID_SET[type]];
const idSets = (state: AccountState) => Object.values(ID_SET).map((name) => state[name]);

/** the ids a command would record, as [event type, id] */
function idsOf(command: AccountCommand): [OncePerAccount, string][] {
  switch (command.type) {
    case "processPayment":
    case "createTransaction":
      return [["transaction_created", command.data.transactionId]];
    case "refundPayment":
      return [
        ["payment_refunded", command.data.refundId],
        ["transaction_created", command.data.transactionId],
      ];
    case "trackUsage":
    case "settleUsage":
      return [
        ["ai_usage", command.data.usageId],
        ["transaction_created", command.data.transactionId],
      ];
    case "reserveUsage":
      return [["usage_reserved", command.data.reservationId]];
    case "releaseUsage":
      return [];
    default: {
      const _unknown: never = command;
      return [];
    }
  }
}

/** keys (usedIdKey) of the ids `command` would record that `state` cannot vouch for: [] until it forgot some */
export function idsToLookUp(command: AccountCommand, state: AccountState): string[] {
  if (!state.forgotIds || ("freshIds" in command && command.freshIds)) return [];
  return idsOf(command)
    .filter(([type, id]) => !setOf(state, type).has(id))
    .map(([type, id]) => usedIdKey(type, id));
}

/** records ids the store found used (keys as usedIdKey makes them) */
export function recallIds(state: AccountState, keys: Iterable<string>): void {
  for (const key of keys) {
    const colon = key.indexOf(":");
    setOf(state, key.slice(0, colon) as OncePerAccount).add(key.slice(colon + 1));
  }
}

/** keeps the `keep` newest ids of each kind (a Set iterates in insertion order) and notes that others were dropped */
export function forgetOldIds(state: AccountState, keep = RECENT_IDS): void {
  for (const ids of idSets(state)) {
    if (ids.size <= keep) continue;
    state.forgotIds = true;
    let excess = ids.size - keep;
    for (const id of ids) {
      if (excess-- <= 0) break;
      ids.delete(id);
    }
  }
}

/** a state's estimated retained size in bytes (measured: ~84 B per remembered id) */
export const accountStateBytes = (s: AccountState) =>
  2048 + 100 * idSets(s).reduce((n, ids) => n + ids.size, s.holds.size + s.payments.size + s.keySpend.size);
