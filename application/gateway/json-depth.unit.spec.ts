import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nestsDeeperThan } from "./json-depth.ts";

/** the reference: nesting depth of a parsed value, computed over the value rather than the text */
function depthOf(value: unknown): number {
  let deepest = 0;
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length) {
    const [v, d] = pending.pop()!;
    if (typeof v !== "object" || v === null) continue;
    deepest = Math.max(deepest, d + 1);
    for (const child of Object.values(v)) pending.push([child, d + 1]);
  }
  return deepest;
}

describe("nestsDeeperThan", () => {
  it("agrees with the depth of the parsed value for any JSON, whatever its strings contain", () => {
    const strings = fc.string({ unit: fc.constantFrom("[", "]", "{", "}", '"', "\\", "a", "é", "\n") });
    const json = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: "small" }, strings, fc.integer(), fc.constant(null), tie("array"), tie("object")),
      array: fc.array(tie("value"), { maxLength: 3 }),
      object: fc.dictionary(strings, tie("value"), { maxKeys: 3 }),
    })).value;
    fc.assert(
      fc.property(json, fc.integer({ min: 0, max: 8 }), (value, limit) => {
        const text = JSON.stringify(value);
        expect(nestsDeeperThan(text, limit)).toBe(depthOf(JSON.parse(text)) > limit);
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses 20,000 levels without recursion; brackets inside strings do not count", () => {
    expect(nestsDeeperThan("[".repeat(20_000) + "]".repeat(20_000), 64)).toBe(true);
    expect(nestsDeeperThan(JSON.stringify({ s: "[[[[[[[[[[", t: '\\"{{{{' }), 1)).toBe(false);
    expect(nestsDeeperThan("[".repeat(64) + "]".repeat(64), 64)).toBe(false);
    expect(nestsDeeperThan("[".repeat(65) + "]".repeat(65), 64)).toBe(true);
  });
});
