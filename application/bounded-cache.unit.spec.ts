import { describe, expect, it } from "vitest";
import { BoundedCache } from "./bounded-cache.ts";

const cache = (maxEntries: number, maxBytes: number) => new BoundedCache<string, string>({ maxEntries, maxBytes }, (value) => value.length);
const keys = (c: BoundedCache<string, string>, all: string[]) => all.filter((k) => c.get(k) !== undefined);

describe("BoundedCache", () => {
  it("evicts the least recently used entry beyond maxEntries; a get makes an entry recent", () => {
    const c = cache(2, 1000);
    c.set("a", "1");
    c.set("b", "2");
    expect(c.get("a")).toBe("1");
    c.set("c", "3");
    expect(c.get("b")).toBeUndefined();
    expect(c.size).toBe(2);
  });

  it("evicts the least recently used entries while the estimated bytes exceed maxBytes", () => {
    const c = cache(100, 10);
    c.set("a", "xxxx");
    c.set("b", "xxxx");
    c.set("c", "xxxx"); // 12 bytes: a goes
    expect(keys(c, ["a", "b", "c"])).toEqual(["b", "c"]);
    expect(c.bytes).toBe(8);
    c.set("b", "x"); // replacing an entry replaces its weight
    expect(c.bytes).toBe(5);
  });

  it("keeps the entry set last even when it alone exceeds the budget", () => {
    const c = cache(100, 10);
    c.set("a", "xx");
    c.set("big", "x".repeat(50));
    expect(keys(c, ["a", "big"])).toEqual(["big"]);
    expect(c.bytes).toBe(50);
    c.delete("big");
    c.set("a", "xx");
    expect(c.bytes).toBe(2);
    c.clear();
    expect([c.size, c.bytes]).toEqual([0, 0]);
  });
});
