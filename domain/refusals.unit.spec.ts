import { describe, expect, it } from "vitest";
import type { AccountCommand } from "./account.ts";
import {
  given,
  manual,
  NOW,
  pay,
  refund,
  refunded,
  reserve,
  reserved,
  settle,
  topUp,
  track,
  usage,
  usageEvent,
  USD,
} from "../test/fixtures/account.fixtures.ts";
import { analyticsDecider, type AnalyticsCommand } from "./analytics.ts";
import { apiKeyDecider, type ApiKeyCommand } from "./api-key.ts";
import type { AccountEvent, ApiKeyEvent } from "./events.ts";
import { deciderSpec } from "../test/harness/decider-spec.ts";

// Every refusal says what was wrong: the HTTP API passes a decider's message on as the problem's
// `detail`, so a client learns which id and which amount. One row per refusal of a rule on state:
// history, command, code, and what the message must name. (Refusals of bad input are the edge's:
// apps/api/input.int.spec.ts.)

type Row<C, E> = [string, E[], C, string, RegExp];
const expectRefusal =
  <C, E>(spec: { given(events?: E[]): { when(c: C): { thenThrows(code: string): Error } } }) =>
  (_: string, history: E[], command: C, code: string, message: RegExp) => {
    expect(spec.given(history).when(command).thenThrows(code).message).toMatch(message);
  };

const paid5 = topUp("p1", 5 * USD);
const payWith = (data: object): AccountCommand => ({ ...pay("p2", USD), data: { ...pay("p2", USD).data, ...data } }) as AccountCommand;
const refundWith = (data: object): AccountCommand =>
  ({ ...refund("p1", "r1"), data: { ...refund("p1", "r1").data, ...data } }) as AccountCommand;
const reserveWith = (data: object, now = NOW): AccountCommand =>
  ({ ...reserve("h1", 100, now), data: { ...reserve("h1", 100, now).data, ...data } }) as AccountCommand;

const accountRows: Row<AccountCommand, AccountEvent>[] = [
  ["another user's command", [], payWith({ userId: "u2" }), "ACCOUNT.USER_MISMATCH", /^command for user u2 sent to account u1$/],
  [
    "an unknown command",
    [],
    { type: "bogus", now: NOW, data: { userId: "u1" } } as unknown as AccountCommand,
    "COMMAND.UNKNOWN",
    /^unknown account command bogus$/,
  ],
  // processPayment
  ["a duplicate payment", paid5, pay("p1", USD), "PAYMENT.DUPLICATE", /^payment p1 was already processed$/],
  ["a reused transactionId", paid5, payWith({ transactionId: "txn_p1" }), "TRANSACTION.DUPLICATE", /^transaction txn_p1 already exists$/],
  // refundPayment
  ["a refund of an unknown payment", paid5, refundWith({ paymentId: "nope" }), "PAYMENT.NOT_FOUND", /^payment nope not found$/],
  [
    "a duplicate refundId",
    [...paid5, refunded("p1", "r1", USD)],
    refund("p1", "r1", USD),
    "REFUND.DUPLICATE",
    /^refund r1 already exists$/,
  ],
  [
    "a second full refund",
    [...paid5, refunded("p1", "r0", 5 * USD)],
    refund("p1", "r1"),
    "PAYMENT.OVER_REFUND",
    /^payment p1 is already fully refunded$/,
  ],
  [
    "an explicit refund of a fully refunded payment",
    [...paid5, refunded("p1", "r0", 5 * USD)],
    refund("p1", "r1", 1),
    "PAYMENT.OVER_REFUND",
    /^refund of 0.000001 USD exceeds the 0 USD left on payment p1$/,
  ],
  [
    "an over-refund",
    [...paid5, refunded("p1", "r0", USD)],
    refund("p1", "r1", 5 * USD),
    "PAYMENT.OVER_REFUND",
    /^refund of 5 USD exceeds the 4 USD left on payment p1$/,
  ],
  [
    "a refund of held money",
    [...paid5, reserved("h1", 4 * USD)],
    refund("p1", "r1"),
    "ACCOUNT.INSUFFICIENT_FUNDS",
    /^refund of 5 USD exceeds the available balance of 1 USD$/,
  ],
  // createTransaction
  [
    "a debit beyond the balance",
    paid5,
    manual("t1", "debit", 6 * USD),
    "ACCOUNT.INSUFFICIENT_FUNDS",
    /^debit of 6 USD exceeds the available balance of 5 USD$/,
  ],
  [
    "a negative adjustment beyond it",
    paid5,
    manual("t1", "adjustment", -6 * USD),
    "ACCOUNT.INSUFFICIENT_FUNDS",
    /^adjustment of 6 USD exceeds/,
  ],
  // trackUsage
  [
    "a duplicate usage",
    [usageEvent(usage("us1", 1))],
    track(usage("us1", 1, { transactionId: "t9" })),
    "USAGE.DUPLICATE",
    /^usage us1 was already recorded$/,
  ],
  // reserveUsage, settleUsage, releaseUsage
  ["a reused reservationId", [...paid5, reserved("h1", 10)], reserve("h1", 10), "RESERVATION.DUPLICATE", /^reservation h1 already exists$/],
  ["a zero hold", paid5, reserveWith({ amount: 0 }), "MONEY.INVALID", /^amount must be greater than 0, got 0 USD$/],
  ["an expiry now", paid5, reserveWith({ expiresAt: NOW }), "COMMAND.INVALID", /^expiresAt must be after now$/],
  ["a key budget without key", paid5, reserveWith({ keyBudget: 100 }), "COMMAND.INVALID", /^keyBudget needs apiKeyId$/],
  [
    "a hold over the key budget",
    paid5,
    reserveWith({ apiKeyId: "k1", keyBudget: 50 }),
    "API_KEY.BUDGET_EXCEEDED",
    /^reservation of 0.0001 USD exceeds the budget of key k1: 0 USD of 0.00005 USD spent or held$/,
  ],
  [
    "a hold over the balance",
    topUp("p1", 50),
    reserve("h1", 100),
    "ACCOUNT.INSUFFICIENT_FUNDS",
    /^reservation of 0.0001 USD exceeds the available balance of 0.00005 USD$/,
  ],
  [
    "a settlement of an unknown hold",
    paid5,
    settle("h9", usage("us1", 1)),
    "RESERVATION.NOT_ACTIVE",
    /^reservation h9 is unknown or already released$/,
  ],
  [
    "a settlement for another request",
    [...paid5, reserved("h1", 10)],
    settle("h1", usage("us1", 1)),
    "RESERVATION.REQUEST_MISMATCH",
    /^reservation h1 belongs to request req_h1$/,
  ],
];

describe("account refusals name the field, id or amount", () => {
  it.each(accountRows)("%s", expectRefusal({ given }));
});

const keys = deciderSpec(apiKeyDecider, "apikey-k1");
const create = (data: object = {}): ApiKeyCommand =>
  ({
    type: "createApiKey",
    now: NOW,
    data: { keyId: "k1", userId: "u1", name: "ci", prefix: "AbCd1234", secretHash: "a".repeat(64), scopes: ["chat"], ...data },
  }) as ApiKeyCommand;
const created: ApiKeyEvent = {
  type: "api_key_created",
  data: { keyId: "k1", userId: "u1", name: "ci", prefix: "AbCd1234", secretHash: "a".repeat(64), scopes: ["chat"], createdAt: NOW },
};
const revoke = (data: object = {}): ApiKeyCommand => ({ type: "revokeApiKey", now: NOW, data: { keyId: "k1", ...data } }) as ApiKeyCommand;

const keyRows: Row<ApiKeyCommand, ApiKeyEvent>[] = [
  ["another key's command", [], create({ keyId: "k2" }), "API_KEY.ID_MISMATCH", /^command for key k2 sent to k1$/],
  ["an existing key", [created], create(), "API_KEY.EXISTS", /^API key k1 already exists$/],
  ["a revocation of an unknown key", [], revoke(), "API_KEY.NOT_FOUND", /^API key k1 not found$/],
  [
    "a second revocation",
    [created, { type: "api_key_revoked", data: { keyId: "k1", userId: "u1", revokedAt: NOW } }],
    revoke(),
    "API_KEY.ALREADY_REVOKED",
    /^API key k1 is already revoked$/,
  ],
  [
    "an unknown key command",
    [],
    { type: "rotate", now: NOW, data: { keyId: "k1" } } as unknown as ApiKeyCommand,
    "COMMAND.UNKNOWN",
    /^unknown API key command rotate$/,
  ],
];

describe("API key refusals name what was wrong", () => {
  it.each(keyRows)("%s", expectRefusal(keys));
});

const analytics = deciderSpec(analyticsDecider, "analytics-u1");
const anonymous = deciderSpec(analyticsDecider, "analytics-anonymous");
const track1 = (data: object): AnalyticsCommand =>
  ({ type: "trackAnalyticsEvent", now: NOW, data: { name: "signup", userId: "u1", ...data } }) as AnalyticsCommand;
const analyticsRows: Row<AnalyticsCommand, never>[] = [
  ["another user's event", [], track1({ userId: "u2" }), "ANALYTICS.STREAM_MISMATCH", /^event for u2 sent to analytics-u1$/],
  [
    "an anonymous event on a user stream",
    [],
    track1({ userId: undefined }),
    "ANALYTICS.STREAM_MISMATCH",
    /^event for an anonymous user sent to analytics-u1$/,
  ],
  [
    "an unknown analytics command",
    [],
    { type: "forget", now: NOW, data: {} } as unknown as AnalyticsCommand,
    "COMMAND.UNKNOWN",
    /^unknown analytics command forget$/,
  ],
];

describe("analytics refusals name what was wrong", () => {
  it.each(analyticsRows)("%s", expectRefusal(analytics));

  it("leaves userId out of anonymous events", () => {
    anonymous
      .given()
      .when(track1({ userId: undefined }))
      .thenMatches(([event]) => expect(Object.keys(event!.data)).toEqual(["name", "properties", "timestamp"]));
  });
});

describe("optional fields are named when given and absent (never undefined) when not", () => {
  it("payment externalRef, refund reason, transaction description, revocation reason", () => {
    given()
      .when(payWith({ externalRef: "inv-7" }))
      .thenMatches(([event]) => expect(event!.data).toMatchObject({ externalRef: "inv-7" }));
    given(paid5)
      .when(refund("p1", "r1", USD))
      .thenMatches(([event]) => expect(Object.keys(event!.data)).toEqual(["userId", "paymentId", "refundId", "amount"]));
    given(paid5)
      .when(refundWith({ reason: "duplicate charge" }))
      .thenMatches(([event]) => expect(event!.data).toMatchObject({ reason: "duplicate charge" }));
    given()
      .when(manual("t1", "credit", USD))
      .thenMatches(([event]) => expect(event!.data).toMatchObject({ metadata: {} }));
    given()
      .when(manual("t1", "credit", USD))
      .thenMatches(([event]) => expect(Object.keys((event!.data as { metadata: object }).metadata)).toEqual([]));
    keys
      .given([created])
      .when(revoke())
      .thenMatches(([event]) => expect(Object.keys(event!.data)).toEqual(["keyId", "userId", "revokedAt"]));
  });

  it("a credit is accepted on an overdrawn account: only money going out needs funds", () => {
    // usage may overdraw (it already happened): 1 USD paid, 3 USD used → -2 USD
    const overdrawn = [
      ...topUp("p1", USD),
      usageEvent(usage("us1", 3 * USD)),
      {
        type: "transaction_created",
        data: {
          userId: "u1",
          transactionId: "txn_us1",
          amount: -3 * USD,
          type: "usage",
          balanceAfter: -2 * USD,
          timestamp: NOW,
          metadata: {},
        },
      } as AccountEvent,
    ];
    given(overdrawn)
      .when(manual("t1", "credit", USD))
      .thenMatches(([event]) => expect(event!.data).toMatchObject({ balanceAfter: -USD }));
    given(overdrawn)
      .when(manual("t2", "adjustment", USD))
      .thenMatches(([event]) => expect(event!.data).toMatchObject({ balanceAfter: -USD }));
  });
});
