import { invalid, ruleViolated } from "./errors.ts";

// Money is an integer of micro-USD (1 USD = 1_000_000) held in a JS number that is always a safe
// integer. Nothing here multiplies or divides money as floats: decimals are parsed by splitting strings.

/** Largest amount, in micro-USD (about 9.007 billion USD). */
export const MAX_MONEY = Number.MAX_SAFE_INTEGER;
export const MICRO_PER_USD = 1_000_000;

const MICRO = 1_000_000n;
const MONEY_PATTERN = /^-?\d+(\.\d{1,6})?$/;

const bad = (input: unknown, why: string) => invalid("MONEY.INVALID", `invalid amount ${JSON.stringify(String(input))}: ${why}`);

/**
 * A decimal string (`"12.5"`, `"-0.000150"`) or a JSON number (12.5) → micro-USD.
 * Pitfall: a JSON number with more than ~15 significant digits has already lost precision in
 * JSON.parse; clients that need exact large amounts send strings.
 */
export function parseMoney(input: string | number): number {
  let text: string;
  if (typeof input === "number") {
    if (!Number.isFinite(input)) throw bad(input, "must be a finite number");
    text = String(input); // 1e21 → "1e+21", 1e-7 → "1e-7": refused below as exponent forms
  } else if (typeof input === "string") {
    text = input;
  } else {
    throw bad(input, "must be a decimal string or a number");
  }
  if (!MONEY_PATTERN.test(text)) {
    if (/^-?\d+\.\d{7,}$/.test(text)) throw bad(input, "at most 6 fraction digits (micro-USD)");
    if (/e/i.test(text)) throw bad(input, "exponent notation is not accepted");
    throw bad(input, 'expected a decimal such as "12.5" or "-0.000150"');
  }
  const negative = text.startsWith("-");
  const [whole = "0", fraction = ""] = (negative ? text.slice(1) : text).split(".");
  const magnitude = BigInt(whole) * MICRO + BigInt(fraction.padEnd(6, "0"));
  if (magnitude > BigInt(MAX_MONEY)) throw bad(input, `exceeds the maximum of ${formatMoney(MAX_MONEY)}`);
  const micro = Number(magnitude);
  return negative ? 0 - micro : micro; // `0 - x`, not `-x`: never produce -0
}

/**
 * micro-USD → shortest decimal string: 12500000 → "12.5", 150 → "0.00015", 0 → "0". A bigint (a
 * platform-wide total, see `totalOf`) is formatted exactly at any size.
 */
export function formatMoney(micro: number | bigint): string {
  if (typeof micro !== "bigint" && !isMoney(micro)) throw bad(micro, "not a safe integer of micro-USD");
  const text = String(micro);
  const negative = text.startsWith("-");
  const digits = (negative ? text.slice(1) : text).padStart(7, "0");
  const whole = digits.slice(0, -6);
  const fraction = digits.slice(-6).replace(/0+$/, "");
  return (negative ? "-" : "") + whole + (fraction ? `.${fraction}` : "");
}

/**
 * Sums of money over many accounts (platform revenue, payments, refunds, cost per bucket or model)
 * have no upper bound: each amount is below MAX_MONEY, their sum is not. They are bigint, kept in
 * read models as a decimal string of micro-USD ("18014398509481982"), so no engine rounds them
 * (SQLite, MongoDB and FerretDB store a JSON number as a double). A stored number (a document
 * written before totals were strings) is read as the integer it holds.
 */
export function totalOf(stored: unknown): bigint {
  if (stored === undefined || stored === null) return 0n;
  if (typeof stored === "number" && Number.isInteger(stored)) return BigInt(stored);
  if (typeof stored === "string" && /^-?\d{1,300}$/.test(stored)) return BigInt(stored);
  throw bad(stored, "not a total of micro-USD");
}

/** `stored + amount` as the decimal string a read model keeps. */
export const addToTotal = (stored: unknown, amount: number | bigint): string => String(totalOf(stored) + BigInt(amount));

export function isMoney(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value);
}

/** a + b, refusing a result that would leave the safe-integer range (and so lose cents silently). */
export function addMoney(a: number, b: number): number {
  const sum = a + b;
  if (!Number.isSafeInteger(sum)) throw ruleViolated("MONEY.OVERFLOW", "amount out of the representable range");
  return sum;
}

export interface TokenPrices {
  /** micro-USD per million prompt tokens */
  promptPerMillion: number;
  /** micro-USD per million completion tokens */
  completionPerMillion: number;
}

/** Cost in micro-USD, rounded up to the next micro-USD; exact (BigInt) for any safe-integer inputs. */
export function costOf(promptTokens: number, completionTokens: number, prices: TokenPrices): number {
  for (const [name, value] of [
    ["promptTokens", promptTokens],
    ["completionTokens", completionTokens],
    ["promptPerMillion", prices.promptPerMillion],
    ["completionPerMillion", prices.completionPerMillion],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) throw invalid("MONEY.INVALID", `${name} must be a non-negative integer`);
  }
  const total = BigInt(promptTokens) * BigInt(prices.promptPerMillion) + BigInt(completionTokens) * BigInt(prices.completionPerMillion);
  const cost = (total + MICRO - 1n) / MICRO;
  if (cost > BigInt(MAX_MONEY)) throw invalid("MONEY.INVALID", "cost exceeds the maximum amount");
  return Number(cost);
}
