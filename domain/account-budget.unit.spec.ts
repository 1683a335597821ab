import { describe, expect, it } from "vitest";
import { given, LATER, NOW, reserve, settle, topUp, usage, usageEvent, USD } from "../test/fixtures/account.fixtures.ts";
import type { AccountCommand } from "./account.ts";
import type { AccountEvent, AiUsage } from "./events.ts";

// Key budgets live in the account stream: the key's settled spend + its active holds are folded from
// the same events as the balance, so concurrent reservations are serialised by the stream revision
// and a budget is never overshot (the gateway caps every charge at its hold).

const EXPIRES = "2025-03-01T12:01:00.000Z";
const keyHold = (reservationId: string, amount: number, keyBudget?: number, now = NOW): AccountCommand => {
  const command = reserve(reservationId, amount, now, now === NOW ? EXPIRES : "2025-03-01T12:10:00.000Z") as Extract<
    AccountCommand,
    { type: "reserveUsage" }
  >;
  return { ...command, data: { ...command.data, apiKeyId: "k1", ...(keyBudget === undefined ? {} : { keyBudget }) } };
};
const keyReserved = (reservationId: string, amount: number, apiKeyId = "k1"): AccountEvent => ({
  type: "usage_reserved",
  data: { userId: "u1", reservationId, requestId: `req_${reservationId}`, amount, expiresAt: EXPIRES, apiKeyId },
});
const keyUsage = (usageId: string, cost: number, apiKeyId = "k1") => usageEvent(usage(usageId, cost, { apiKeyId }));

describe("reserveUsage with a key budget", () => {
  it("holds while settled spend + active holds + amount stay within the budget", () => {
    given([...topUp("p1", USD), keyUsage("us1", 300), keyReserved("h1", 200)])
      .when(keyHold("h2", 500, 1000))
      .thenMatches((events) => expect(events.map((e) => e.type)).toEqual(["usage_reserved"]));
  });
  it("refuses one micro-dollar over the budget, before checking funds", () => {
    given([...topUp("p1", 100), keyUsage("us1", 300), keyReserved("h1", 200)])
      .when(keyHold("h2", 501, 1000))
      .thenThrows("API_KEY.BUDGET_EXCEEDED", "rule");
  });
  it("counts only this key's spend and holds", () => {
    given([...topUp("p1", USD), keyUsage("us1", 900, "k2"), keyReserved("h1", 900, "k2")])
      .when(keyHold("h2", 1000, 1000))
      .thenMatches((events) => expect(events).toHaveLength(1));
  });
  it("ignores expired holds of the key", () => {
    given([...topUp("p1", USD), keyReserved("h1", 900)])
      .when(keyHold("h2", 1000, 1000, LATER))
      .thenMatches((events) => expect(events.map((e) => e.type)).toEqual(["usage_released", "usage_reserved"]));
  });
  it("needs the key id", () => {
    given(topUp("p1", USD))
      .when({ ...reserve("h1", 10), data: { ...reserve("h1", 10).data, keyBudget: 100 } } as AccountCommand)
      .thenThrows("COMMAND.INVALID");
  });
});

describe("usageSource", () => {
  it("is recorded on ai_usage when given", () => {
    const [charge] = given([...topUp("p1", USD), keyReserved("h1", 500)])
      .when(settle("h1", usage("us1", 400, { requestId: "req_h1", usageSource: "counted" })))
      .thenMatches(() => {});
    expect((charge as AiUsage).data.usageSource).toBe("counted");
  });
});
