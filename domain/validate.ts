import { invalid } from "./errors.ts";
import { formatMoney, isMoney, MAX_MONEY } from "./money.ts";

// Defence in depth: the HTTP edge validates with zod, but a decider never trusts its input, because
// the CLI, workers and tests call it too. Codes: COMMAND.INVALID for fields, MONEY.INVALID for amounts.

const fieldError = (field: string, why: string) => invalid("COMMAND.INVALID", `${field} ${why}`);

/** non-blank string of at most `max` characters (ids, names, model names…) */
export function requireText(value: unknown, field: string, max = 200): string {
  if (typeof value !== "string" || value.trim().length === 0) throw fieldError(field, "must be a non-empty string");
  if (value.length > max) throw fieldError(field, `must be at most ${max} characters`);
  return value;
}

export function optionalText(value: unknown, field: string, max = 200): string | undefined {
  return value === undefined ? undefined : requireText(value, field, max);
}

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** ISO-8601 instant with an explicit offset → epoch milliseconds (no local-time guessing). */
export function requireInstant(value: unknown, field: string): number {
  const ms = typeof value === "string" && INSTANT.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw fieldError(field, "must be an ISO-8601 instant such as 2025-01-31T12:00:00Z");
  return ms;
}

/** non-negative safe integer (token counts, limits) */
export function requireCount(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw fieldError(field, "must be a non-negative integer");
  }
  return value;
}

export type AmountRule = "positive" | "nonNegative" | "nonZero";

/** micro-USD amount with a sign rule */
export function requireAmount(value: unknown, field: string, rule: AmountRule): number {
  if (!isMoney(value) || Math.abs(value) > MAX_MONEY) {
    throw invalid("MONEY.INVALID", `${field} must be an integer of micro-USD`);
  }
  const ok = rule === "positive" ? value > 0 : rule === "nonNegative" ? value >= 0 : value !== 0;
  if (!ok) {
    const expected = rule === "positive" ? "greater than 0" : rule === "nonNegative" ? "at least 0" : "non-zero";
    throw invalid("MONEY.INVALID", `${field} must be ${expected}, got ${formatMoney(value)}`);
  }
  return value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
