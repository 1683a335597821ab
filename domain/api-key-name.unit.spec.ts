import { describe, expect, it } from "vitest";
import { apiKeyNameStream, keyNameDecider, type KeyNameCommand, type Replaced } from "./api-key-name.ts";
import type { ApiKeyNameEvent } from "./events.ts";
import { deciderSpec } from "../test/harness/decider-spec.ts";

const NOW = "2025-03-01T12:00:00.000Z";
const { given } = deciderSpec(keyNameDecider, apiKeyNameStream({ userId: "u1", name: "laptop" }));
const who = { userId: "u1", name: "laptop" };

const claim = (keyId: string, replaces: Replaced | null = null): KeyNameCommand => ({
  type: "claimKeyName",
  now: NOW,
  data: { ...who, keyId, replaces },
});
const release = (keyId: string): KeyNameCommand => ({ type: "releaseKeyName", now: NOW, data: { ...who, keyId, reason: "revoked" } });
const claimed = (keyId: string): ApiKeyNameEvent => ({ type: "api_key_name_claimed", data: { ...who, keyId, claimedAt: NOW } });
const released = (keyId: string, reason: Replaced["reason"] = "revoked"): ApiKeyNameEvent => ({
  type: "api_key_name_released",
  data: { ...who, keyId, reason },
});

describe("key name reservation", () => {
  it("one stream per user and name: the name is hashed, so any text makes a valid stream name", () => {
    expect(apiKeyNameStream(who)).toMatch(/^apikeyname-u1-[0-9a-f]{64}$/);
    expect(apiKeyNameStream({ userId: "u1", name: "Laptop" })).not.toBe(apiKeyNameStream(who));
    expect(apiKeyNameStream({ userId: "u2", name: "laptop" })).not.toBe(apiKeyNameStream(who));
  });

  it("a free name is claimed; a held one is refused", () => {
    given()
      .when(claim("k1"))
      .then([claimed("k1")]);
    given([claimed("k1")])
      .when(claim("k2"))
      .thenThrows("API_KEY.NAME_TAKEN", "conflict");
  });

  it("a claim replaces only the holder it names: a holder that changed meanwhile refuses", () => {
    given([claimed("k1")])
      .when(claim("k2", { keyId: "k1", reason: "revoked" }))
      .then([released("k1"), claimed("k2")]);
    given([claimed("k1")])
      .when(claim("k3", { keyId: "k0", reason: "abandoned" }))
      .thenThrows("API_KEY.NAME_TAKEN");
    given()
      .when(claim("k3", { keyId: "k0", reason: "abandoned" }))
      .thenThrows("API_KEY.NAME_TAKEN"); // it was released already
  });

  it("released by its key's revocation, the name is free again; a release by another key changes nothing", () => {
    given([claimed("k1")])
      .when(release("k1"))
      .then([released("k1")]);
    given([claimed("k1")])
      .when(release("k9"))
      .then([]);
    given([claimed("k1"), released("k1")])
      .when(claim("k2"))
      .then([claimed("k2")]);
  });

  it("a retried claim by the holder itself appends nothing", () => {
    given([claimed("k1")])
      .when(claim("k1"))
      .then([]);
  });
});
