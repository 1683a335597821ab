import { createHash } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { apiKeyDecider, apiKeyMatches, base62, formatApiKey, hashApiKey, parseApiKey, type ApiKeyCommand } from "./api-key.ts";
import type { ApiKeyEvent } from "./events.ts";
import { deciderSpec } from "../test/harness/decider-spec.ts";

const NOW = "2025-03-01T12:00:00.000Z";
const { given } = deciderSpec(apiKeyDecider, "apikey-k1");
const HASH = "a".repeat(64);

const create = (data: Partial<Extract<ApiKeyCommand, { type: "createApiKey" }>["data"]> = {}): ApiKeyCommand => ({
  type: "createApiKey",
  now: NOW,
  data: { keyId: "k1", userId: "u1", name: "ci", prefix: "AbCd1234", secretHash: HASH, scopes: ["chat", "keys"], ...data },
});
const revoke = (reason?: string): ApiKeyCommand => ({
  type: "revokeApiKey",
  now: NOW,
  data: { keyId: "k1", ...(reason ? { reason } : {}) },
});
const created: ApiKeyEvent = {
  type: "api_key_created",
  data: { keyId: "k1", userId: "u1", name: "ci", prefix: "AbCd1234", secretHash: HASH, scopes: ["chat", "keys"], createdAt: NOW },
};
const revoked: ApiKeyEvent = { type: "api_key_revoked", data: { keyId: "k1", userId: "u1", reason: "leaked", revokedAt: NOW } };

describe("createApiKey", () => {
  it("creates a key", () => {
    given().when(create()).then([created]);
  });
  it("keeps limits and drops duplicate scopes", () => {
    given()
      .when(create({ scopes: ["chat", "chat"], limits: { requestsPerMinute: 60, budget: 5_000_000 } }))
      .then([
        { ...created, data: { ...created.data, scopes: ["chat"], limits: { requestsPerMinute: 60, budget: 5_000_000 } } } as ApiKeyEvent,
      ]);
  });
  it("refuses a key id that exists", () => {
    given([created]).when(create()).thenThrows("API_KEY.EXISTS", "conflict");
    given([created, revoked]).when(create()).thenThrows("API_KEY.EXISTS", "conflict");
  });
  it("refuses a command sent to another key's stream", () => {
    given()
      .when(create({ keyId: "k2" }))
      .thenThrows("API_KEY.ID_MISMATCH");
  });
});

describe("revokeApiKey", () => {
  it("revokes an active key", () => {
    given([created]).when(revoke("leaked")).then([revoked]);
  });
  it("answers not_found for an unknown key", () => {
    given().when(revoke()).thenThrows("API_KEY.NOT_FOUND", "not_found");
  });
  it("refuses to revoke twice", () => {
    given([created, revoked]).when(revoke()).thenThrows("API_KEY.ALREADY_REVOKED", "conflict");
  });
});

describe("key format", () => {
  const secret = "s3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3tabcd";
  // formatted inside each test, not at collection: mutation testing attributes it to the tests
  let raw = "";
  beforeEach(() => {
    raw = formatApiKey("AbCd1234", secret);
  });

  it("formats aia_{prefix}_{secret}{checksum}", () => {
    expect(raw).toMatch(/^aia_AbCd1234_s3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3tabcd[0-9a-f]{6}$/);
  });
  it("parses its own keys", () => {
    expect(parseApiKey(raw)).toEqual({ prefix: "AbCd1234", secret, key: raw });
  });
  it("rejects any single-character change through the checksum", () => {
    for (let i = "aia_AbCd1234_".length; i < raw.length; i++) {
      const swapped = raw.slice(0, i) + (raw[i] === "0" ? "1" : "0") + raw.slice(i + 1);
      expect(parseApiKey(swapped)).toBeNull();
    }
  });
  it.each(["", "Bearer x", "aia__abc", "sk-abc", `${"aia_AbCd1234_"}${"x".repeat(500)}`, `aia_AbCd1234_${secret}`])(
    "rejects %j",
    (text) => {
      expect(parseApiKey(text)).toBeNull();
    },
  );
  it("refuses to format a bad prefix or a short secret", () => {
    expect(() => formatApiKey("a_b", secret)).toThrow(/prefix/);
    expect(() => formatApiKey("AbCd1234", "short")).toThrow(/secret/);
    for (const prefix of ["_abcd", "abcd_", "abc", "x".repeat(33)])
      expect(() => formatApiKey(prefix, secret)).toThrow("prefix must be 4..32 base62 characters");
    expect(() => formatApiKey("a_b", secret)).toThrow(expect.objectContaining({ code: "API_KEY.INVALID_FORMAT" }));
    expect(() => formatApiKey("AbCd1234", "short")).toThrow(expect.objectContaining({ code: "API_KEY.INVALID_FORMAT" }));
    for (const bad of [`_${secret}`, `${secret}_`, "x".repeat(15), "x".repeat(129)])
      expect(() => formatApiKey("AbCd1234", bad)).toThrow("secret must be 16..128 base62 characters");
    expect(formatApiKey("abcd", "x".repeat(16))).toMatch(/^aia_abcd_x{16}[0-9a-f]{6}$/);
  });
  it("parses only the whole string: nothing before or after the key", () => {
    expect(parseApiKey(`-${raw}`)).toBeNull();
    expect(parseApiKey(`${raw}-`)).toBeNull();
    expect(parseApiKey(` ${raw}`)).toBeNull();
    expect(parseApiKey({ toString: () => raw } as unknown as string)).toBeNull(); // only strings are keys
  });
  it("the checksum is the first 6 hex of sha-256 over aia_{prefix}_{secret}", () => {
    // independent: node:crypto directly, not the module's helper
    const expected = createHash("sha256").update(`aia_AbCd1234_${secret}`, "utf8").digest("hex").slice(0, 6);
    expect(raw.slice(-6)).toBe(expected);
    expect(hashApiKey(raw)).toBe(createHash("sha256").update(raw, "utf8").digest("hex"));
  });
  it("stores only a sha-256 of the raw key and compares in constant time", () => {
    expect(hashApiKey(raw)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey(raw)).not.toContain(secret);
    expect(apiKeyMatches(raw, hashApiKey(raw))).toBe(true);
    expect(apiKeyMatches(raw, HASH)).toBe(false);
    expect(apiKeyMatches(raw, "nope")).toBe(false);
    // a stored hash is exactly 64 hex characters: one with a head or a tail matches nothing
    expect(apiKeyMatches(raw, `00${hashApiKey(raw)}`)).toBe(false);
    expect(apiKeyMatches(raw, `${hashApiKey(raw)}00`)).toBe(false);
  });
  it("encodes random bytes as fixed-length base62", () => {
    expect(base62(new Uint8Array([0, 0]), 4)).toBe("0000");
    expect(base62(new Uint8Array([1, 0]), 4)).toBe("0048"); // 256 = 4*62 + 8
    expect(base62(new Uint8Array(32).fill(255), 43)).toMatch(/^[0-9A-Za-z]{43}$/);
  });
});
