import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { accountDecider, availableBalance, decideAccount, evolveAccount, initialAccountState, type AccountCommand } from "./account.ts";
import {
  given,
  LATER,
  manual,
  NOW,
  paid,
  pay,
  refund,
  refunded,
  reserve,
  reserved,
  topUp,
  txn,
  USD,
} from "../test/fixtures/account.fixtures.ts";
import type { FoldableEvent } from "./decider.ts";
import { DomainError } from "./errors.ts";
import type { AccountEvent, TransactionCreated } from "./events.ts";
import { MAX_MONEY } from "./money.ts";

describe("processPayment", () => {
  it("records the payment and credits the balance", () => {
    given(topUp("p1", 10 * USD))
      .when(pay("p2", 2_500_000))
      .then([paid("p2", 2_500_000), txn("txn_p2", "payment", 2_500_000, 12_500_000, { paymentId: "p2" })]);
  });
  it("refuses a duplicate paymentId", () => {
    given(topUp("p1", USD)).when(pay("p1", USD)).thenThrows("PAYMENT.DUPLICATE", "conflict");
  });
  it("refuses a reused transactionId", () => {
    given([txn("txn_p2", "credit", USD, USD)])
      .when(pay("p2", USD))
      .thenThrows("TRANSACTION.DUPLICATE", "conflict");
  });
  it("refuses a command for another user", () => {
    const command = pay("p1", USD) as Extract<AccountCommand, { type: "processPayment" }>;
    given()
      .when({ ...command, data: { ...command.data, userId: "u2" } })
      .thenThrows("ACCOUNT.USER_MISMATCH", "invalid");
  });
  it("refuses a balance beyond MAX_MONEY", () => {
    given([txn("t0", "credit", MAX_MONEY, MAX_MONEY)])
      .when(pay("p1", 1))
      .thenThrows("MONEY.OVERFLOW", "rule");
  });
});

describe("refundPayment", () => {
  it("refunds part of a payment", () => {
    given(topUp("p1", 10 * USD))
      .when(refund("p1", "r1", 4 * USD))
      .then([refunded("p1", "r1", 4 * USD), txn("txn_r1", "refund", -4 * USD, 6 * USD, { paymentId: "p1", refundId: "r1" })]);
  });
  it("refunds the rest by default", () => {
    const partly = [...topUp("p1", 10 * USD), refunded("p1", "r1", 4 * USD), txn("txn_r1", "refund", -4 * USD, 6 * USD)];
    given(partly)
      .when(refund("p1", "r2"))
      .then([refunded("p1", "r2", 6 * USD), txn("txn_r2", "refund", -6 * USD, 0, { paymentId: "p1", refundId: "r2" })]);
  });
  it("refuses more than was paid and not yet refunded", () => {
    given([...topUp("p1", 10 * USD), ...topUp("p2", 10 * USD, 20 * USD)])
      .when(refund("p1", "r1", 10 * USD + 1))
      .thenThrows("PAYMENT.OVER_REFUND", "rule");
  });
  it("refuses a second full refund", () => {
    const full = [...topUp("p1", USD), refunded("p1", "r1", USD), txn("txn_r1", "refund", -USD, 0)];
    given(full).when(refund("p1", "r2")).thenThrows("PAYMENT.OVER_REFUND", "rule");
    given(full)
      .when(refund("p1", "r2", 1))
      .thenThrows("PAYMENT.OVER_REFUND", "rule");
  });
  it("answers not_found for an unknown payment", () => {
    given(topUp("p1", USD)).when(refund("nope", "r1")).thenThrows("PAYMENT.NOT_FOUND", "not_found");
  });
  it("refuses a refund of money already spent", () => {
    given([...topUp("p1", 10 * USD), txn("t1", "usage", -8 * USD, 2 * USD)])
      .when(refund("p1", "r1", 3 * USD))
      .thenThrows("ACCOUNT.INSUFFICIENT_FUNDS", "insufficient_funds");
  });
  it("refuses a refund of money held by the gateway", () => {
    given([...topUp("p1", 10 * USD), reserved("h1", 8 * USD)])
      .when(refund("p1", "r1"))
      .thenThrows("ACCOUNT.INSUFFICIENT_FUNDS");
  });
  it("refuses a duplicate refundId", () => {
    const once = [...topUp("p1", 10 * USD), refunded("p1", "r1", USD), txn("txn_r1", "refund", -USD, 9 * USD)];
    given(once)
      .when(refund("p1", "r1", USD))
      .thenThrows("REFUND.DUPLICATE", "conflict");
  });
});

describe("createTransaction", () => {
  it.each([
    ["credit", 3 * USD, 3 * USD, 8 * USD],
    ["debit", 3 * USD, -3 * USD, 2 * USD],
    ["adjustment", 3 * USD, 3 * USD, 8 * USD],
    ["adjustment", -3 * USD, -3 * USD, 2 * USD],
  ] as const)("a %s of %d moves the balance by %d", (type, amount, signed, after) => {
    given(topUp("p1", 5 * USD))
      .when(manual("t1", type, amount))
      .then([txn("t1", type, signed, after)]);
  });
  it("allows a debit of exactly the balance", () => {
    given(topUp("p1", 5 * USD))
      .when(manual("t1", "debit", 5 * USD))
      .then([txn("t1", "debit", -5 * USD, 0)]);
  });
  it("refuses a debit beyond the balance", () => {
    given(topUp("p1", 5 * USD))
      .when(manual("t1", "debit", 5 * USD + 1))
      .thenThrows("ACCOUNT.INSUFFICIENT_FUNDS", "insufficient_funds");
  });
  it("refuses a negative adjustment beyond the balance", () => {
    given(topUp("p1", 5 * USD))
      .when(manual("t1", "adjustment", -6 * USD))
      .thenThrows("ACCOUNT.INSUFFICIENT_FUNDS");
  });
  it("refuses a debit of money held by the gateway", () => {
    given([...topUp("p1", 5 * USD), reserved("h1", 2 * USD)])
      .when(manual("t1", "debit", 4 * USD))
      .thenThrows("ACCOUNT.INSUFFICIENT_FUNDS");
  });
  it("counts an expired hold as available again", () => {
    given([...topUp("p1", 5 * USD), reserved("h1", 2 * USD)])
      .when(manual("t1", "debit", 4 * USD, LATER))
      .then([txn("t1", "debit", -4 * USD, USD, {}, LATER)]);
  });
  it("refuses a duplicate transactionId", () => {
    given([...topUp("p1", 5 * USD), txn("t1", "credit", USD, 6 * USD)])
      .when(manual("t1", "credit", USD))
      .thenThrows("TRANSACTION.DUPLICATE", "conflict");
  });
  it("keeps the description in the transaction metadata", () => {
    const command = manual("t1", "credit", USD) as Extract<AccountCommand, { type: "createTransaction" }>;
    given()
      .when({ ...command, data: { ...command.data, description: "goodwill" } })
      .then([txn("t1", "credit", USD, USD, { description: "goodwill" })]);
  });
  it("computes balanceAfter from the whole history", () => {
    const history = [
      ...topUp("p1", 5 * USD),
      txn("t1", "debit", -USD, 4 * USD),
      txn("t2", "usage", -150, 4 * USD - 150),
      txn("t3", "credit", 2 * USD, 6 * USD - 150),
    ];
    given(history)
      .when(manual("t4", "debit", 150))
      .then([txn("t4", "debit", -150, 6 * USD - 300)]);
  });
});

describe("state", () => {
  it("starts from the stream name and skips events of other streams", () => {
    const state = accountDecider.initialState("account-u1");
    expect(state).toMatchObject({ exists: false, userId: "u1", balance: 0 });
    const foreign = { type: "api_key_revoked", data: { keyId: "k", userId: "u1", revokedAt: NOW } } as FoldableEvent;
    expect(accountDecider.evolve(state, foreign).exists).toBe(false);
  });
  it("tracks the last hash and time from metadata", () => {
    const state = evolveAccount(initialAccountState("u1"), {
      ...paid("p1", 1),
      metadata: {
        eventId: "e1",
        occurredAt: NOW,
        actor: { type: "admin", id: "a" },
        correlationId: "c",
        causationId: "c",
        schemaVersion: 1,
        hash: "ab".repeat(32),
      },
    });
    expect(state).toMatchObject({ exists: true, lastHash: "ab".repeat(32), lastTimestamp: NOW });
  });
  it("availableBalance subtracts only unexpired holds", () => {
    const state = [...topUp("p1", USD), reserved("h1", 300, NOW), reserved("h2", 200, LATER)].reduce(
      evolveAccount,
      initialAccountState("u1"),
    );
    expect(availableBalance(state, "2025-03-01T11:00:00Z")).toBe(USD - 500);
    expect(availableBalance(state, NOW)).toBe(USD - 200);
    expect(availableBalance(state, LATER)).toBe(USD);
  });
  it("decide never mutates the state", () => {
    const state = [...topUp("p1", USD), reserved("h1", 300)].reduce(evolveAccount, initialAccountState("u1"));
    const before = JSON.stringify({ ...state, holds: [...state.holds], payments: [...state.payments], t: [...state.transactionIds] });
    decideAccount(reserve("h2", 10, LATER, "2025-03-01T13:00:00Z"), state);
    decideAccount(refund("p1", "r1", 10), state);
    expect(JSON.stringify({ ...state, holds: [...state.holds], payments: [...state.payments], t: [...state.transactionIds] })).toBe(before);
  });
});

describe("invariants", () => {
  it("manual transactions never overdraw, and balanceAfter always equals the fold", () => {
    const step = fc.tuple(
      fc.constantFrom("credit", "debit", "adjustment") as fc.Arbitrary<"credit" | "debit" | "adjustment">,
      fc.integer({ min: 1, max: 10 * USD }),
      fc.boolean(),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        let state = initialAccountState("u1");
        steps.forEach(([type, magnitude, negative], i) => {
          const amount = type === "adjustment" && negative ? -magnitude : magnitude;
          let events: AccountEvent[];
          try {
            events = decideAccount(manual(`t${i}`, type, amount), state);
          } catch (error) {
            if (error instanceof DomainError && error.kind === "insufficient_funds") return;
            throw error;
          }
          for (const event of events) state = evolveAccount(state, event);
          expect((events[0] as TransactionCreated).data.balanceAfter).toBe(state.balance);
          expect(state.balance).toBeGreaterThanOrEqual(0);
        });
      }),
    );
  });
});
