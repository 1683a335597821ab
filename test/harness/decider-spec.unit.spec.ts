import { describe, expect, it } from "vitest";
import { accountDecider, type AccountCommand } from "../../domain/account.ts";
import { deciderSpec } from "./decider-spec.ts";

// The helper must fail loudly, or every decider spec built on it proves nothing.
const { given } = deciderSpec(accountDecider, "account-u1");
const credit: AccountCommand = {
  type: "createTransaction",
  now: "2025-03-01T12:00:00Z",
  data: { userId: "u1", transactionId: "t1", type: "credit", amount: 5 },
};
const expected = {
  type: "transaction_created" as const,
  data: {
    userId: "u1",
    transactionId: "t1",
    amount: 5,
    type: "credit" as const,
    balanceAfter: 5,
    timestamp: "2025-03-01T12:00:00Z",
    metadata: {},
  },
};

describe("deciderSpec", () => {
  it("passes on equal events regardless of key order", () => {
    given()
      .when(credit)
      .then([{ data: { ...expected.data }, type: expected.type }]);
  });
  it("fails on different events", () => {
    expect(() =>
      given()
        .when(credit)
        .then([{ ...expected, data: { ...expected.data, balanceAfter: 6 } }]),
    ).toThrow(/unexpected decision/);
    expect(() => given().when(credit).then([])).toThrow(/unexpected decision/);
  });
  it("fails when an expected refusal does not happen, or has another code or kind", () => {
    expect(() => given().when(credit).thenThrows("ACCOUNT.INSUFFICIENT_FUNDS")).toThrow(/was accepted/);
    const debit = { ...credit, data: { ...credit.data, type: "debit" } } as AccountCommand;
    expect(() => given().when(debit).thenThrows("TRANSACTION.DUPLICATE")).toThrow(/got insufficient_funds/);
    expect(() => given().when(debit).thenThrows("ACCOUNT.INSUFFICIENT_FUNDS", "rule")).toThrow(/expected rule/);
    expect(given().when(debit).thenThrows("ACCOUNT.INSUFFICIENT_FUNDS", "insufficient_funds").kind).toBe("insufficient_funds");
  });
});
