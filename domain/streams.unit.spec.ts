import { describe, expect, it } from "vitest";
import { analyticsDecider, initialAnalyticsState } from "./analytics.ts";
import { apiKeyDecider, initialApiKeyState } from "./api-key.ts";
import { fold, streamId } from "./decider.ts";
import { DomainError, invalid } from "./errors.ts";
import { ConcurrencyError } from "./event-store.ts";
import {
  ACCOUNT_EVENT_TYPES,
  accountStream,
  analyticsStream,
  apiKeyStream,
  EVENT_TYPES,
  RELAYED_EVENT_TYPES,
  type DomainEvent,
} from "./events.ts";

// Stream names, event type lists and error shapes: names outside code relies on (the relay's topic,
// the API's problem codes, stream prefixes in every store).

describe("streams", () => {
  it("are named account-, apikey- and analytics-{user|anonymous}", () => {
    expect([accountStream("u1"), apiKeyStream("k1"), analyticsStream("u1"), analyticsStream()]).toEqual([
      "account-u1",
      "apikey-k1",
      "analytics-u1",
      "analytics-anonymous",
    ]);
  });
  it("streamId takes the id after the prefix and refuses anything else", () => {
    expect(streamId("account-u1", "account-")).toBe("u1");
    for (const stream of ["account-", "accountu1", "apikey-u1"]) {
      expect(() => streamId(stream, "account-")).toThrow(new TypeError(`stream ${JSON.stringify(stream)} is not a account-… stream`));
    }
  });
  it("the relay publishes exactly ai_usage and transaction_created; every type is listed once", () => {
    expect(RELAYED_EVENT_TYPES).toEqual(["ai_usage", "transaction_created"]);
    expect(EVENT_TYPES).toEqual([
      ...ACCOUNT_EVENT_TYPES,
      "api_key_created",
      "api_key_revoked",
      "api_key_name_claimed",
      "api_key_name_released",
      "analytics_event_tracked",
    ]);
    expect(ACCOUNT_EVENT_TYPES).toEqual([
      "payment_processed",
      "payment_refunded",
      "transaction_created",
      "ai_usage",
      "usage_reserved",
      "usage_released",
    ]);
  });
});

describe("errors", () => {
  it("a DomainError carries kind, code and message, and says what it is", () => {
    const error = invalid("X.Y", "why");
    expect(error).toBeInstanceOf(DomainError);
    expect([error.name, error.kind, error.code, error.message]).toEqual(["DomainError", "invalid", "X.Y", "why"]);
  });
  it("a ConcurrencyError names the stream and both revisions", () => {
    const error = new ConcurrencyError("account-u1", "no_stream", 4);
    expect([error.code, error.message, error.stream, error.expected, error.actual]).toEqual([
      "EVENT_STORE.CONCURRENCY",
      "stream account-u1: expected revision no_stream, actual 4",
      "account-u1",
      "no_stream",
      4,
    ]);
  });
});

describe("the small deciders' state", () => {
  const created = {
    type: "api_key_created",
    data: {
      keyId: "k1",
      userId: "u1",
      name: "ci",
      prefix: "AbCd1234",
      secretHash: "a".repeat(64),
      scopes: ["chat", "keys"],
      createdAt: "2025-01-01T00:00:00Z",
    },
  } as DomainEvent;
  const revoked = { type: "api_key_revoked", data: { keyId: "k1", userId: "u1", revokedAt: "2025-01-02T00:00:00Z" } } as DomainEvent;
  const tracked = {
    type: "analytics_event_tracked",
    data: { name: "x", properties: {}, timestamp: "2025-01-01T00:00:00Z" },
  } as DomainEvent;

  it("an API key starts empty and active, is created with its fields, then revoked; other events change nothing", () => {
    expect(initialApiKeyState("k1")).toEqual({
      exists: false,
      keyId: "k1",
      userId: "",
      status: "active",
      name: "",
      prefix: "",
      scopes: [],
    });
    const state = fold(apiKeyDecider, "apikey-k1", [created, tracked]);
    expect(state).toEqual({
      exists: true,
      keyId: "k1",
      userId: "u1",
      status: "active",
      name: "ci",
      prefix: "AbCd1234",
      scopes: ["chat", "keys"],
    });
    expect(fold(apiKeyDecider, "apikey-k1", [created, revoked]).status).toBe("revoked");
  });
  it("analytics counts tracked events only", () => {
    expect(initialAnalyticsState("u1")).toEqual({ owner: "u1", tracked: 0 });
    expect(fold(analyticsDecider, "analytics-u1", [tracked, created, tracked])).toEqual({ owner: "u1", tracked: 2 });
  });
});
