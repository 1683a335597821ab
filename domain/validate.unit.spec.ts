import { describe, expect, it } from "vitest";
import { DomainError } from "./errors.ts";
import { MAX_MONEY } from "./money.ts";
import { isPlainObject, optionalText, requireAmount, requireCount, requireInstant, requireText } from "./validate.ts";

// The deciders' own input checks (defence in depth behind the HTTP schemas): what passes, and what a
// refusal says.
const refusal = (run: () => unknown): DomainError => {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error("expected a refusal");
};

describe("requireText / optionalText", () => {
  it("passes non-blank strings up to the limit, inclusive", () => {
    expect(requireText("a", "f")).toBe("a");
    expect(requireText("x".repeat(200), "f")).toHaveLength(200);
    expect(requireText("x".repeat(5), "f", 5)).toBe("xxxxx");
    expect(optionalText(undefined, "f")).toBeUndefined();
    expect(optionalText(" a ", "f")).toBe(" a ");
  });
  it.each([[""], ["   "], [42], [null]])("refuses %j, naming the field", (value) => {
    expect(refusal(() => requireText(value, "name"))).toMatchObject({ code: "COMMAND.INVALID", message: "name must be a non-empty string" });
  });
  it("refuses one character over the limit", () => {
    expect(refusal(() => requireText("x".repeat(201), "name")).message).toBe("name must be at most 200 characters");
    expect(refusal(() => optionalText("x".repeat(6), "ref", 5)).message).toBe("ref must be at most 5 characters");
  });
});

describe("requireInstant", () => {
  it.each([
    ["2025-01-31T12:00:00Z", Date.UTC(2025, 0, 31, 12)],
    ["2025-01-31T12:00:00.123456789Z", Date.UTC(2025, 0, 31, 12, 0, 0, 123)],
    ["2025-01-31T13:00:00+01:00", Date.UTC(2025, 0, 31, 12)],
    ["2025-01-31T11:00:00-01:00", Date.UTC(2025, 0, 31, 12)],
  ])("reads %s", (text, ms) => {
    expect(requireInstant(text, "at")).toBe(ms);
  });
  it.each([
    " 2025-01-31T12:00:00Z", "2025-01-31T12:00:00Zx", "2025-01-31T12:00:00", "2025-01-31 12:00:00Z", "2025-01-31T12:00:00+1:00",
    "2025-01-31T12:00:00+01:0", "2025-01-31T12:00:00*01:00", "2025-01-31T12:00:00+0a:00", "2025-01-31T12:00:00+01:0a", "2025-13-45T12:00:00Z", 1738324800000,
    "+002025-01-31T12:00:00Z", // an expanded year Date.parse would take
    { toString: () => "2025-01-31T12:00:00Z" }, // not a string, whatever it prints as
  ])("refuses %j", (value) => {
    expect(refusal(() => requireInstant(value, "at")).message).toBe("at must be an ISO-8601 instant such as 2025-01-31T12:00:00Z");
  });
});

describe("requireCount", () => {
  it("passes 0 and safe integers", () => {
    expect(requireCount(0, "n")).toBe(0);
    expect(requireCount(Number.MAX_SAFE_INTEGER, "n")).toBe(Number.MAX_SAFE_INTEGER);
  });
  it.each([-1, 1.5, "1", Number.MAX_SAFE_INTEGER + 1, Number.NaN])("refuses %j", (value) => {
    expect(refusal(() => requireCount(value, "tokens")).message).toBe("tokens must be a non-negative integer");
  });
});

describe("requireAmount", () => {
  it("applies its sign rule", () => {
    expect(requireAmount(1, "a", "positive")).toBe(1);
    expect(requireAmount(0, "a", "nonNegative")).toBe(0);
    expect(requireAmount(-1, "a", "nonZero")).toBe(-1);
    expect(requireAmount(MAX_MONEY, "a", "positive")).toBe(MAX_MONEY);
    expect(requireAmount(-MAX_MONEY, "a", "nonZero")).toBe(-MAX_MONEY);
  });
  it.each([
    [0, "positive", "a must be greater than 0, got 0"],
    [-1, "positive", "a must be greater than 0, got -0.000001"],
    [-1, "nonNegative", "a must be at least 0, got -0.000001"],
    [0, "nonZero", "a must be non-zero, got 0"],
  ] as const)("refuses %d as %s", (value, rule, message) => {
    expect(refusal(() => requireAmount(value, "a", rule))).toMatchObject({ code: "MONEY.INVALID", message });
  });
  it.each([1.5, "1", MAX_MONEY + 1, Number.NaN])("refuses %j as no amount", (value) => {
    expect(refusal(() => requireAmount(value, "a", "nonNegative")).message).toBe("a must be an integer of micro-USD");
  });
});

describe("isPlainObject", () => {
  it("is true only for object literals and null-prototype objects", () => {
    expect(isPlainObject({})).toBe(true);
    expect(isPlainObject(Object.create(null))).toBe(true);
    for (const value of [null, [], "x", 1, undefined, new Map(), new Date(0), new (class X {})()]) expect(isPlainObject(value)).toBe(false);
  });
});
