import { z } from "zod";
import { formatMoney, MAX_MONEY, parseMoney } from "../../domain/money.ts";
import { documentedAs } from "./contract.ts";

// Money at the JSON edge, one codec each way. The documented JSON Schema is exactly what zod accepts:
// the string pattern is bounded by MAX_MONEY digit by digit (so a schema-valid amount is never refused
// for size), and the same regex is what the string branch checks before parseMoney.

const MICRO_DIGITS = 6;
const max = formatMoney(MAX_MONEY).split("."); // ["9007199254", "740991"]
const [MAX_WHOLE, MAX_FRACTION] = [max[0]!, (max[1] ?? "").padEnd(MICRO_DIGITS, "0")];

/** exactly `digits.length` digits, numerically below `digits` */
function below(digits: string): string[] {
  const rest = (n: number) => (n === 0 ? "" : n === 1 ? "[0-9]" : `[0-9]{${n}}`);
  return [...digits].flatMap((d, i) => (d === "0" ? [] : [`${digits.slice(0, i)}[0-${Number(d) - 1}]${rest(digits.length - i - 1)}`]));
}

const FRACTION = `\\.[0-9]{1,${MICRO_DIGITS}}`;
/** fraction digits f with 0.f <= 0.MAX_FRACTION: for each length L, f <= the first L digits of it */
const maxFraction = Array.from({ length: MICRO_DIGITS }, (_, i) => MAX_FRACTION.slice(0, i + 1)).flatMap((d) => [...below(d), d]);
/** an unsigned decimal of at most 6 fraction digits and at most MAX_MONEY micro-USD, leading zeros allowed */
const BOUNDED = `0*(?:(?:[0-9]{1,${MAX_WHOLE.length - 1}}|${below(MAX_WHOLE).join("|")})(?:${FRACTION})?|${MAX_WHOLE}(?:\\.(?:${maxFraction.join("|")}))?)`;
const ZERO = `0+(?:\\.0{1,${MICRO_DIGITS}})?`;

/** the documented decimal-string grammar for output: what formatMoney produces */
export const MONEY_PATTERN = `^-?[0-9]+(?:\\.[0-9]{1,${MICRO_DIGITS}})?$`;
/** the largest JSON number accepted: whole USD, exact as a double (the string grammar goes to the micro-dollar) */
const MAX_USD = Math.floor(MAX_MONEY / 1_000_000);

type Sign = "positive" | "nonNegative" | "nonZero";
const SPEC: Record<Sign, { pattern: string; notZero: boolean; number: Record<string, unknown> }> = {
  positive: { pattern: `^${BOUNDED}$`, notZero: true, number: { exclusiveMinimum: 0, maximum: MAX_USD } },
  nonNegative: { pattern: `^${BOUNDED}$`, notZero: false, number: { minimum: 0, maximum: MAX_USD } },
  nonZero: { pattern: `^-?${BOUNDED}$`, notZero: true, number: { minimum: -MAX_USD, maximum: MAX_USD, not: { const: 0 } } },
};

/** input money: a decimal string or a JSON number, to integer micro-USD; documented as oneOf */
function moneyIn(sign: Sign) {
  const { pattern, notZero, number } = SPEC[sign];
  const description = 'USD as a decimal string with at most 6 fraction digits (e.g. "12.5"); a JSON number is accepted';
  const schema = z
    .union([
      z.string().regex(new RegExp(pattern), "a decimal of at most 6 fraction digits within range"),
      z.number().min(-MAX_USD).max(MAX_USD),
    ])
    .transform((input, ctx) => {
      let micro: number;
      try {
        micro = parseMoney(input);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: error instanceof Error ? error.message : "invalid amount" });
        return z.NEVER;
      }
      if (notZero && micro === 0) {
        ctx.addIssue({ code: "custom", message: sign === "positive" ? "must be greater than 0" : "must not be 0" });
        return z.NEVER;
      }
      if (sign !== "nonZero" && micro < 0) {
        ctx.addIssue({ code: "custom", message: "must not be negative" });
        return z.NEVER;
      }
      return micro;
    });
  const text = { type: "string", pattern, ...(notZero ? { not: { pattern: `^-?${ZERO}$` } } : {}) };
  return documentedAs(schema, { description, example: "12.5", oneOf: [text, { type: "number", multipleOf: 0.000001, ...number }] });
}

export const positiveMoney = moneyIn("positive");
export const nonNegativeMoney = moneyIn("nonNegative");
export const nonZeroMoney = moneyIn("nonZero");

/** exact decimal text of a micro-USD total that may exceed MAX_MONEY (platform sums) */
function formatTotal(micro: bigint): string {
  if (micro >= -BigInt(MAX_MONEY) && micro <= BigInt(MAX_MONEY)) return formatMoney(Number(micro));
  const digits = (micro < 0n ? -micro : micro).toString();
  const fraction = digits.slice(-MICRO_DIGITS).replace(/0+$/, "");
  return `${micro < 0n ? "-" : ""}${digits.slice(0, -MICRO_DIGITS)}${fraction ? `.${fraction}` : ""}`;
}

/** output money: integer micro-USD in the handler (a bigint for totals), a decimal string on the wire */
export const moneyOut = documentedAs(
  z.codec(z.string().regex(new RegExp(MONEY_PATTERN)), z.union([z.int(), z.bigint()]), {
    decode: (text) => parseMoney(text),
    encode: (micro) => (typeof micro === "bigint" ? formatTotal(micro) : formatMoney(micro)),
  }),
  { type: "string", pattern: MONEY_PATTERN, description: "USD, decimal string with at most 6 fraction digits", example: "12.5" },
);
