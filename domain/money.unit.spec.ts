import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DomainError } from "./errors.ts";
import { addMoney, addToTotal, costOf, formatMoney, MAX_MONEY, parseMoney, totalOf } from "./money.ts";

const refusal = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return error as DomainError;
  }
  throw new Error("expected a refusal");
};

describe("parseMoney", () => {
  it.each([
    ["12.5", 12_500_000],
    ["0.000150", 150],
    ["0.00015", 150],
    ["-1.5", -1_500_000],
    ["3", 3_000_000],
    ["0", 0],
    ["-0", 0],
    ["007.10", 7_100_000],
    ["9007199254.740991", MAX_MONEY],
    ["-9007199254.740991", -MAX_MONEY],
  ])("parses %j", (input, micro) => {
    expect(parseMoney(input)).toBe(micro);
  });

  it.each([
    [12.5, 12_500_000],
    [0.00015, 150],
    [0.1, 100_000],
    [-2, -2_000_000],
    [-0, 0],
  ])("parses the JSON number %d", (input, micro) => {
    expect(parseMoney(input)).toBe(micro);
  });

  it.each([
    ["1.0000001", /6 fraction digits/],
    ["1e3", /exponent/],
    ["", /decimal/],
    [" 1", /decimal/],
    ["1 ", /decimal/],
    ["1.", /decimal/],
    [".5", /decimal/],
    ["+1", /decimal/],
    ["0x10", /decimal/],
    ["NaN", /decimal/],
    ["Infinity", /decimal/],
    ["1,5", /decimal/],
    ["9007199254.740992", /maximum/],
    ["-9007199254.740992", /maximum/],
    ["100000000000000000000", /maximum/],
  ])("refuses %j", (input, reason) => {
    const error = refusal(() => parseMoney(input));
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ kind: "invalid", code: "MONEY.INVALID" });
    expect(error.message).toMatch(reason);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e21, 1e-7, 0.1 + 0.2, 1e16])(
    "refuses the JSON number %d",
    (input) => {
      expect(refusal(() => parseMoney(input))).toMatchObject({ code: "MONEY.INVALID" });
    },
  );

  it("refuses what is neither string nor number", () => {
    expect(refusal(() => parseMoney(null as unknown as string))).toMatchObject({ code: "MONEY.INVALID" });
    expect(refusal(() => parseMoney(undefined as unknown as string)).message).toMatch(/must be a decimal string or a number$/);
    expect(refusal(() => parseMoney(null as unknown as string)).message).toBe(
      'invalid amount "null": must be a decimal string or a number',
    );
  });

  it("says why: non-finite, too precise, exponent, or not a decimal", () => {
    expect(refusal(() => parseMoney(Number.NaN)).message).toBe('invalid amount "NaN": must be a finite number');
    expect(refusal(() => parseMoney("12.1234567")).message).toMatch(/at most 6 fraction digits \(micro-USD\)$/);
    for (const text of ["+1.1234567", "1.1234567x", "x1.1234567"])
      expect(refusal(() => parseMoney(text)).message).toMatch(/expected a decimal such as/);
    expect(refusal(() => parseMoney("9007199254.740992")).message).toBe(
      'invalid amount "9007199254.740992": exceeds the maximum of 9007199254.740991',
    );
  });
});

describe("formatMoney", () => {
  it.each([
    [12_500_000, "12.5"],
    [150, "0.00015"],
    [3_000_000, "3"],
    [-1_500_000, "-1.5"],
    [0, "0"],
    [-0, "0"],
    [1, "0.000001"],
    [-1, "-0.000001"],
    [MAX_MONEY, "9007199254.740991"],
  ])("formats %d as %j", (micro, text) => {
    expect(formatMoney(micro)).toBe(text);
  });

  it.each([1.5, Number.NaN, MAX_MONEY + 1])("refuses %d", (micro) => {
    expect(refusal(() => formatMoney(micro))).toMatchObject({
      code: "MONEY.INVALID",
      message: expect.stringMatching(/: not a safe integer of micro-USD$/),
    });
  });
});

describe("round trips", () => {
  it("parseMoney(formatMoney(m)) === m for every safe integer", () => {
    fc.assert(fc.property(fc.maxSafeInteger(), (m) => parseMoney(formatMoney(m)) === m));
  });

  it("formatMoney(parseMoney(s)) is the shortest form of any valid decimal", () => {
    const decimal = fc
      .tuple(fc.boolean(), fc.integer({ min: 0, max: 9_007_199_253 }), fc.string({ unit: fc.constantFrom(..."0123456789"), maxLength: 6 }))
      .map(([negative, whole, fraction]) => `${negative ? "-" : ""}${whole}${fraction ? `.${fraction}` : ""}`);
    fc.assert(
      fc.property(decimal, (text) => {
        const shortest = text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
        const expected = /^-0(\.0*)?$/.test(text) ? "0" : shortest;
        return formatMoney(parseMoney(text)) === expected;
      }),
    );
  });

  it("a formatted amount with a 7th fraction digit is refused", () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), fc.integer({ min: 1, max: 9 }), (m, digit) => {
        const [whole, fraction = ""] = formatMoney(m).split(".");
        const seven = `${whole}.${fraction.padEnd(6, "0")}${digit}`;
        return refusal(() => parseMoney(seven)).code === "MONEY.INVALID";
      }),
    );
  });
});

describe("costOf", () => {
  it("rounds up to the next micro-USD", () => {
    // 1000 tokens at 0.15 USD/M prompt + 500 at 0.60 USD/M completion = 150 + 300 micro-USD
    expect(costOf(1000, 500, { promptPerMillion: 150_000, completionPerMillion: 600_000 })).toBe(450);
    expect(costOf(1, 0, { promptPerMillion: 150_000, completionPerMillion: 0 })).toBe(1); // 0.15 micro → 1
    expect(costOf(0, 0, { promptPerMillion: 150_000, completionPerMillion: 600_000 })).toBe(0);
  });

  it("stays exact where float arithmetic would not", () => {
    const prices = { promptPerMillion: 9_007_199_254, completionPerMillion: 1 };
    // 1e9 * 9_007_199_254 = 9.007199254e18 exceeds 2^53: BigInt keeps it exact
    // float: (1e9 * 9_007_199_254 + 999_999) / 1e6 loses the 999_999 entirely
    expect(costOf(1_000_000_000, 999_999, prices)).toBe(9_007_199_254_001);
  });

  it("matches ceil(total / 1e6) for any inputs whose cost is representable", () => {
    const count = fc.integer({ min: 0, max: 10_000_000 });
    const price = fc.integer({ min: 0, max: 100_000_000 });
    fc.assert(
      fc.property(count, count, price, price, (p, c, pp, cp) => {
        const total = BigInt(p) * BigInt(pp) + BigInt(c) * BigInt(cp);
        const expected = total / 1_000_000n + (total % 1_000_000n === 0n ? 0n : 1n);
        return costOf(p, c, { promptPerMillion: pp, completionPerMillion: cp }) === Number(expected);
      }),
    );
  });

  it("is exact where tokens × price passes 2^53: a float implementation fails this property", () => {
    // tokens 1e8..1e10 × prices 1e8..9e9 micro-USD/M: every product is 1e16..9e19 (> 2^53 ≈ 9.007e15),
    // every cost 1e10..9e13 micro-USD (well within MAX_MONEY). Oracle: BigInt, rounded up.
    const count = fc.bigInt({ min: 100_000_000n, max: 10_000_000_000n }).map(Number);
    const price = fc.bigInt({ min: 100_000_000n, max: 9_000_000_000n }).map(Number);
    fc.assert(
      fc.property(count, count, price, price, (p, c, pp, cp) => {
        const total = BigInt(p) * BigInt(pp) + BigInt(c) * BigInt(cp);
        expect(total > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
        const expected = (total + 999_999n) / 1_000_000n;
        return costOf(p, c, { promptPerMillion: pp, completionPerMillion: cp }) === Number(expected);
      }),
      { numRuns: 500 },
    );
  });

  it("over the whole safe range: the exact ceiling, or MONEY.INVALID when it exceeds MAX_MONEY", () => {
    const any = fc.oneof(fc.nat({ max: 1_000_000 }), fc.maxSafeNat());
    fc.assert(
      fc.property(any, any, any, any, (p, c, pp, cp) => {
        const total = BigInt(p) * BigInt(pp) + BigInt(c) * BigInt(cp);
        const expected = (total + 999_999n) / 1_000_000n;
        const run = () => costOf(p, c, { promptPerMillion: pp, completionPerMillion: cp });
        if (expected > BigInt(MAX_MONEY)) return refusal(run).code === "MONEY.INVALID";
        return run() === Number(expected);
      }),
      { numRuns: 500 },
    );
  });

  it("refuses negative or fractional inputs and costs beyond MAX_MONEY", () => {
    expect(refusal(() => costOf(-1, 0, { promptPerMillion: 1, completionPerMillion: 1 }))).toMatchObject({ code: "MONEY.INVALID" });
    expect(refusal(() => costOf(1.5, 0, { promptPerMillion: 1, completionPerMillion: 1 }))).toMatchObject({ code: "MONEY.INVALID" });
    const huge = { promptPerMillion: MAX_MONEY, completionPerMillion: MAX_MONEY };
    expect(refusal(() => costOf(MAX_MONEY, MAX_MONEY, huge))).toMatchObject({
      code: "MONEY.INVALID",
      message: "cost exceeds the maximum amount",
    });
    expect(refusal(() => costOf(1, 1, { promptPerMillion: 1, completionPerMillion: -1 })).message).toBe(
      "completionPerMillion must be a non-negative integer",
    );
    // exactly MAX_MONEY is still a cost: MAX_MONEY tokens at 1 USD (1 000 000 micro-USD) per million
    expect(costOf(MAX_MONEY, 0, { promptPerMillion: 1_000_000, completionPerMillion: 0 })).toBe(MAX_MONEY);
  });
});

describe("addMoney", () => {
  it("is the exact sum over the whole safe range, or MONEY.OVERFLOW", () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), fc.maxSafeInteger(), (a, b) => {
        const exact = BigInt(a) + BigInt(b);
        if (exact > BigInt(MAX_MONEY) || exact < -BigInt(MAX_MONEY)) return refusal(() => addMoney(a, b)).code === "MONEY.OVERFLOW";
        return addMoney(a, b) === Number(exact);
      }),
    );
  });

  it("refuses to leave the safe-integer range", () => {
    expect(addMoney(MAX_MONEY - 1, 1)).toBe(MAX_MONEY);
    expect(refusal(() => addMoney(MAX_MONEY, 1))).toMatchObject({
      kind: "rule",
      code: "MONEY.OVERFLOW",
      message: "amount out of the representable range",
    });
  });
});

describe("totals past 2^53 (bigint)", () => {
  it("formats any bigint exactly, and agrees with the number form where both exist", () => {
    expect(formatMoney(3n * BigInt(MAX_MONEY))).toBe("27021597764.222973");
    expect(formatMoney(-(10n ** 30n) - 5n)).toBe("-1000000000000000000000000.000005");
    expect(formatMoney(0n)).toBe("0");
    fc.assert(
      fc.property(fc.integer({ min: -MAX_MONEY, max: MAX_MONEY }), (n) => {
        expect(formatMoney(BigInt(n))).toBe(formatMoney(n));
      }),
    );
    // the decimal string is the exact value: digits × 10^6 + fraction
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }), (n) => {
        const [whole, fraction = ""] = formatMoney(n).replace("-", "").split(".");
        const magnitude = BigInt(whole!) * 1_000_000n + BigInt(fraction.padEnd(6, "0"));
        expect(n < 0n ? -magnitude : magnitude).toBe(n);
      }),
    );
  });

  it("a stored total is a decimal string (or a number written before); anything else is refused", () => {
    let total: string = "0";
    for (let i = 0; i < 4; i++) total = addToTotal(total, MAX_MONEY);
    expect(totalOf(total)).toBe(4n * BigInt(MAX_MONEY));
    expect([totalOf(undefined), totalOf(null), totalOf(12), totalOf("-7")]).toEqual([0n, 0n, 12n, -7n]);
    for (const bad of ["1.5", "1e3", "", " 1", 1.5, Number.NaN, {}, true]) expect(refusal(() => totalOf(bad)).code).toBe("MONEY.INVALID");
  });
});
