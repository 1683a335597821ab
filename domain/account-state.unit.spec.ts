import { describe, expect, it } from "vitest";
import {
  availableBalance,
  evolveAccount,
  expiredHolds,
  initialAccountState,
  keyCommitted,
  type AccountEventInput,
} from "./account-state.ts";
import { given, NOW, paid, refunded, reserved, settle, topUp, usage, usageEvent, USD } from "../test/fixtures/account.fixtures.ts";
import type { AccountEvent } from "./events.ts";
import { GENESIS_HASH } from "./hash-chain.ts";

// The folded account state at its edges: hold expiry at the exact instant, per-key spend, events the
// fold must tolerate (a refund of an unknown payment, a type from a newer version), hashes.

const fold = (events: AccountEvent[]) => events.reduce((s, e) => evolveAccount(s, e as AccountEventInput), initialAccountState("u1"));
const at = (iso: string) => Date.parse(iso);
const EXPIRY = "2025-03-01T12:01:00.000Z";

describe("holds at their expiry instant", () => {
  const state = fold([
    ...topUp("p1", USD),
    { ...reserved("h1", 300), data: { ...reserved("h1", 300).data, apiKeyId: "k1" } } as AccountEvent,
  ]);
  it("a hold counts until just before its expiry and stops counting at it", () => {
    expect(availableBalance(state, at(EXPIRY) - 1)).toBe(USD - 300);
    expect(availableBalance(state, at(EXPIRY))).toBe(USD);
    expect(expiredHolds(state, at(EXPIRY) - 1)).toEqual([]);
    expect(expiredHolds(state, at(EXPIRY)).map(([id]) => id)).toEqual(["h1"]);
    expect(keyCommitted(state, "k1", at(EXPIRY) - 1)).toBe(300);
    expect(keyCommitted(state, "k1", at(EXPIRY))).toBe(0);
  });
  it("availableBalance takes epoch ms or ISO text, and refuses a bad time instead of expiring every hold", () => {
    expect(availableBalance(state, NOW)).toBe(availableBalance(state, at(NOW)));
    expect(() => availableBalance(state, "later")).toThrow(new TypeError("availableBalance: bad time later"));
  });
});

describe("evolveAccount", () => {
  it("counts key spend only for usage that names a key, and keeps a hold's key", () => {
    const state = fold([
      usageEvent(usage("us1", 40)),
      usageEvent(usage("us2", 2, { apiKeyId: "k1" })),
      usageEvent(usage("us3", 3, { apiKeyId: "k1" })),
      reserved("h1", 5),
    ]);
    expect([...state.keySpend]).toEqual([["k1", 5]]);
    expect(state.holds.get("h1")).toStrictEqual({ amount: 5, requestId: "req_h1", expiresAt: EXPIRY, expiresAtMs: at(EXPIRY) }); // no apiKeyId: undefined
  });
  it("a refund of a payment it never saw still records the refund id", () => {
    const state = fold([refunded("p9", "r1", 10), paid("p1", 50), refunded("p1", "r2", 20)]);
    expect([...state.refundIds]).toEqual(["r1", "r2"]);
    expect(state.payments.get("p1")).toEqual({ amount: 50, refunded: 20 });
    expect(state.payments.has("p9")).toBe(false);
  });
  it("skips an event type from a newer version, and keeps the last hash when metadata carries none", () => {
    const before = fold(topUp("p1", USD));
    const after = evolveAccount(before, { type: "account_renamed", data: {} } as unknown as AccountEventInput);
    expect(after.balance).toBe(USD);
    const meta = {
      eventId: "e",
      occurredAt: NOW,
      actor: { type: "admin" as const, id: "a" },
      correlationId: "c",
      causationId: "c",
      schemaVersion: 1 as const,
    };
    const hashed = evolveAccount(fold([]), { ...paid("p1", 1), metadata: { ...meta, hash: "cd".repeat(32) } });
    expect(evolveAccount(hashed, { ...paid("p2", 1), metadata: meta }).lastHash).toBe("cd".repeat(32));
    expect(fold([]).lastHash).toBe(GENESIS_HASH);
  });
});

describe("settleUsage and the hold's API key", () => {
  const withKey = { ...reserved("h1", 100), data: { ...reserved("h1", 100).data, apiKeyId: "k1" } } as AccountEvent;
  const keyOf = (history: AccountEvent[], extra: object) =>
    given([...topUp("p1", USD), ...history])
      .when(settle("h1", usage("us1", 10, { requestId: "req_h1", ...extra })))
      .thenMatches(() => {})[0]!.data as { apiKeyId?: string };
  it("a usage without a key is charged to the hold's key; its own key wins; neither: none", () => {
    expect(keyOf([withKey], {}).apiKeyId).toBe("k1");
    expect(keyOf([withKey], { apiKeyId: "k2" }).apiKeyId).toBe("k2");
    expect("apiKeyId" in keyOf([reserved("h1", 100)], {})).toBe(false);
    expect(keyOf([reserved("h1", 100)], { apiKeyId: "k2" }).apiKeyId).toBe("k2");
  });
});
