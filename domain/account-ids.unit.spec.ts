import { describe, expect, it } from "vitest";
import { forgetOldIds, idsToLookUp, recallIds } from "./account-ids.ts";
import { evolveAccount, initialAccountState, type AccountEventInput } from "./account-state.ts";
import { manual, refund, reserve, settle, topUp, track, txn, usage } from "../test/fixtures/account.fixtures.ts";

// What a state remembers of the ids it used, and what it asks the store about once it forgot some.

const withCredits = (n: number) => {
  const state = initialAccountState("u1");
  for (let i = 0; i < n; i++) evolveAccount(state, txn(`t${i}`, "credit", 1, i + 1) as AccountEventInput);
  return state;
};

describe("forgetOldIds", () => {
  it("keeps the newest ids of each kind and notes it forgot the others; under the limit it forgets nothing", () => {
    const state = withCredits(10);
    forgetOldIds(state, 10);
    expect(state.forgotIds).toBe(false);
    forgetOldIds(state, 3);
    expect([...state.transactionIds]).toEqual(["t7", "t8", "t9"]);
    expect(state.forgotIds).toBe(true);
  });
});

describe("idsToLookUp and recallIds", () => {
  it("asks nothing of a state that forgot nothing: its sets are complete", () => {
    expect(idsToLookUp(manual("t0", "credit", 1), withCredits(2))).toEqual([]);
  });

  it("asks, as type:id keys, about each id a command would record that the state does not hold", () => {
    const state = withCredits(5);
    for (const e of topUp("p1", 100)) evolveAccount(state, e as AccountEventInput);
    forgetOldIds(state, 2);
    expect(idsToLookUp(manual("t0", "credit", 1), state)).toEqual(["transaction_created:t0"]);
    expect(idsToLookUp(manual("t4", "credit", 1), state)).toEqual([]); // still remembered
    expect(idsToLookUp(track(usage("u1", 1)), state)).toEqual(["ai_usage:u1", "transaction_created:txn_u1"]);
    expect(idsToLookUp(settle("r1", usage("u2", 1)), state)).toEqual(["ai_usage:u2", "transaction_created:txn_u2"]);
    expect(idsToLookUp(reserve("r1", 1), state)).toEqual(["usage_reserved:r1"]);
    expect(idsToLookUp(refund("p1", "f1"), state)).toEqual(["payment_refunded:f1", "transaction_created:txn_f1"]);
  });

  it("recallIds puts what the store found back into the right set, ids with colons included", () => {
    const state = withCredits(0);
    recallIds(state, ["ai_usage:u:1", "usage_reserved:r1", "payment_refunded:f1", "transaction_created:t1"]);
    expect([...state.usageIds, ...state.reservationIds, ...state.refundIds, ...state.transactionIds]).toEqual(["u:1", "r1", "f1", "t1"]);
  });
});
