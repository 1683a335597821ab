import { describe, expect, it } from "vitest";
import { eventIdFor, isUuid, PROJECT_NAMESPACE, uuidV5 } from "./ids.ts";

const DNS_NAMESPACE = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";
const URL_NAMESPACE = "6ba7b811-9dad-11d1-80b4-00c04fd430c8";

describe("uuidV5", () => {
  it("matches the RFC 4122 reference vector", () => {
    expect(uuidV5("www.example.com", DNS_NAMESPACE)).toBe("2ed6657d-e927-568b-95e1-2665a8aea6a2");
  });

  it("derives the project namespace from the project URL", () => {
    expect(uuidV5("https://github.com/ai-aggregator/ai-aggregator", URL_NAMESPACE)).toBe(PROJECT_NAMESPACE);
  });

  it("sets version 5 and the RFC variant", () => {
    expect(uuidV5("anything")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("refuses a namespace that is not a UUID", () => {
    expect(() => uuidV5("x", "not-a-uuid")).toThrow(new TypeError("uuidV5: namespace is not a UUID: not-a-uuid"));
  });

  it("isUuid accepts exactly a UUID: nothing before or after it", () => {
    expect(isUuid(DNS_NAMESPACE)).toBe(true);
    expect(isUuid(DNS_NAMESPACE.toUpperCase())).toBe(true);
    expect(isUuid(`x${DNS_NAMESPACE}`)).toBe(false);
    expect(isUuid(`${DNS_NAMESPACE}x`)).toBe(false);
    expect(isUuid(DNS_NAMESPACE.replace(/-/g, ""))).toBe(false);
  });

  it("hashes the name as UTF-8", () => {
    // python3: uuid.uuid5(uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8"), "café ✓")
    expect(uuidV5("café ✓", DNS_NAMESPACE)).toBe("c6cf5f2f-bb8e-5590-8b37-8811efffa55d");
  });
});

describe("eventIdFor", () => {
  it("is deterministic for the same scope, stream and index", () => {
    expect(eventIdFor("admin:key-1", "account-u1", 0)).toBe(eventIdFor("admin:key-1", "account-u1", 0));
    expect(isUuid(eventIdFor("admin:key-1", "account-u1", 0))).toBe(true);
  });

  it("differs when any part differs, including ambiguous concatenations", () => {
    const ids = new Set([
      eventIdFor("admin:key-1", "account-u1", 0),
      eventIdFor("admin:key-1", "account-u1", 1),
      eventIdFor("admin:key-2", "account-u1", 0),
      eventIdFor("admin:key-1", "account-u2", 0),
      eventIdFor("a", "b:c", 0),
      eventIdFor("a:b", "c", 0),
    ]);
    expect(ids.size).toBe(6);
  });

  it("refuses a negative or fractional index", () => {
    expect(() => eventIdFor("s", "account-u1", -1)).toThrow(TypeError);
    expect(() => eventIdFor("s", "account-u1", 0.5)).toThrow(new TypeError("eventIdFor: bad index 0.5"));
  });
});
