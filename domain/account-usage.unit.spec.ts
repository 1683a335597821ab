import { describe, expect, it } from "vitest";
import {
  given,
  LATER,
  NOW,
  release,
  released,
  reserve,
  reserved,
  settle,
  topUp,
  track,
  txn,
  usage,
  usageEvent,
  USD,
} from "../test/fixtures/account.fixtures.ts";
import type { TransactionCreated } from "./events.ts";

describe("trackUsage", () => {
  it("appends ai_usage and its transaction_created", () => {
    given(topUp("p1", USD))
      .when(track(usage("us1", 450)))
      .then([
        usageEvent(usage("us1", 450)),
        txn("txn_us1", "usage", -450, USD - 450, { usageId: "us1", model: "gpt-4o-mini", provider: "openai" }),
      ]);
  });
  it("is never refused for funds: the balance may go below zero", () => {
    given(topUp("p1", 100))
      .when(track(usage("us1", 450)))
      .thenMatches(([, charge]) => {
        expect((charge as TransactionCreated).data.balanceAfter).toBe(-350);
      });
  });
  it("records a free request with a zero (not negative zero) charge", () => {
    const [, charge] = given()
      .when(track(usage("us1", 0)))
      .thenMatches(() => {});
    expect(Object.is((charge as TransactionCreated).data.amount, 0)).toBe(true);
  });
  it("refuses a duplicate usageId", () => {
    given([...topUp("p1", USD), usageEvent(usage("us1", 450)), txn("txn_us1", "usage", -450, USD - 450)])
      .when(track(usage("us1", 450, { transactionId: "other" })))
      .thenThrows("USAGE.DUPLICATE", "conflict");
  });
});

describe("reserveUsage", () => {
  it("holds an amount within the available balance", () => {
    given([...topUp("p1", USD), reserved("h1", 600_000)])
      .when(reserve("h2", 400_000))
      .then([reserved("h2", 400_000)]);
  });
  it("refuses a hold beyond the available balance (402)", () => {
    given([...topUp("p1", USD), reserved("h1", 600_000)])
      .when(reserve("h2", 400_001))
      .thenThrows("ACCOUNT.INSUFFICIENT_FUNDS", "insufficient_funds");
  });
  it("refuses a hold on an overdrawn account", () => {
    given([txn("t1", "usage", -5, -5)])
      .when(reserve("h1", 1))
      .thenThrows("ACCOUNT.INSUFFICIENT_FUNDS");
  });
  it("releases expired holds first, in the same decision", () => {
    const expiresAt = "2025-03-01T12:06:00.000Z";
    given([...topUp("p1", USD), reserved("h1", 600_000), reserved("h2", 300_000, "2025-03-01T12:10:00.000Z")])
      .when(reserve("h3", 700_000, LATER, expiresAt))
      .then([released("h1", 600_000, "expired"), reserved("h3", 700_000, expiresAt)]);
  });
  it("refuses a reused reservationId, even after its release", () => {
    given([...topUp("p1", USD), reserved("h1", 10), released("h1", 10, "failed")])
      .when(reserve("h1", 10))
      .thenThrows("RESERVATION.DUPLICATE", "conflict");
  });
  it("refuses an expiry that is not in the future", () => {
    given(topUp("p1", USD))
      .when(reserve("h1", 10, NOW, NOW))
      .thenThrows("COMMAND.INVALID", "invalid");
  });
});

describe("settleUsage", () => {
  const charged = (cost: number, balanceAfter: number, reservationId = "h1") => [
    usageEvent(usage("us1", cost), reservationId),
    txn("txn_us1", "usage", -cost, balanceAfter, { usageId: "us1", model: "gpt-4o-mini", provider: "openai", reservationId }),
  ];
  it("charges the usage and releases the hold in one decision", () => {
    given([...topUp("p1", USD), reserved("h1", 600_000)])
      .when(settle("h1", usage("us1", 450, { requestId: "req_h1" })))
      .then([
        ...charged(450, USD - 450).map((e) => (e.type === "ai_usage" ? { ...e, data: { ...e.data, requestId: "req_h1" } } : e)),
        released("h1", 600_000, "settled"),
      ]);
  });
  it("charges the cost as given, even beyond the hold and the balance", () => {
    given([...topUp("p1", 100), reserved("h1", 100)])
      .when(settle("h1", usage("us1", 450, { requestId: "req_h1" })))
      .thenMatches((events) => {
        expect(events.map((e) => e.type)).toEqual(["ai_usage", "transaction_created", "usage_released"]);
        expect((events[1] as TransactionCreated).data.balanceAfter).toBe(-350);
      });
  });
  it("settles a hold that expired but was not released yet", () => {
    given([...topUp("p1", USD), reserved("h1", 600_000)])
      .when(settle("h1", usage("us1", 450, { requestId: "req_h1" }), LATER))
      .thenMatches((events) => {
        expect(events.at(-1)).toEqual(released("h1", 600_000, "settled"));
      });
  });
  it("refuses an unknown hold", () => {
    given(topUp("p1", USD))
      .when(settle("h1", usage("us1", 450, { requestId: "req_h1" })))
      .thenThrows("RESERVATION.NOT_ACTIVE", "conflict");
  });
  it("refuses a hold already released", () => {
    given([...topUp("p1", USD), reserved("h1", 10), released("h1", 10, "expired")])
      .when(settle("h1", usage("us1", 5, { requestId: "req_h1" })))
      .thenThrows("RESERVATION.NOT_ACTIVE");
  });
  it("refuses a usage from another request", () => {
    given([...topUp("p1", USD), reserved("h1", 10)])
      .when(settle("h1", usage("us1", 5, { requestId: "req_other" })))
      .thenThrows("RESERVATION.REQUEST_MISMATCH");
  });
});

describe("releaseUsage", () => {
  it("releases an active hold", () => {
    given([...topUp("p1", USD), reserved("h1", 10)])
      .when(release("h1", "cancelled"))
      .then([released("h1", 10, "cancelled")]);
  });
  it("refuses an unknown or released hold", () => {
    given(topUp("p1", USD)).when(release("h1")).thenThrows("RESERVATION.NOT_ACTIVE", "conflict");
    given([reserved("h1", 10), released("h1", 10, "failed")])
      .when(release("h1"))
      .thenThrows("RESERVATION.NOT_ACTIVE");
  });
});
