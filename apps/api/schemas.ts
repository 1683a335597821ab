import { z } from "zod";
import { documentedAs } from "./contract.ts";

// Shared request pieces. Each one accepts exactly what its documented JSON Schema says (the contract
// is fuzzed against the server), so no lenient coercions: "", " 5" or "0x10" are not integers.

export { moneyOut, nonNegativeMoney, nonZeroMoney, positiveMoney } from "./money-schema.ts";

/**
 * Ids (accounts, payments, keys…): 1–128 characters of `A–Z a–z 0–9 _ . : @ -`, the first one a letter,
 * digit or `_`. So never `.` or `..`, no `/`, no control or non-ASCII characters, no leading `-`:
 * every id is one plain URL path segment, a safe file name and never a CLI option.
 */
export const ID_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,127}$/;
export const id = z.string().regex(ID_PATTERN, "1 to 128 of A-Z a-z 0-9 _ . : @ -, starting with a letter, digit or _");
export const userIdParams = z.strictObject({ userId: id });
export const isoTime = z.iso.datetime({ offset: true });
/** free text (names, methods, reasons…): 1 to `max` characters, not only blanks */
export const text = (max: number) => z.string().min(1).max(max).regex(/\S/, "must not be blank");
/** an instant the server answers (never re-validated on the way out) */
export const instantOut = z.string().meta({ format: "date-time" });
export const positionOut = z.int().min(0).describe("global position of the event store");

/** an integer in a query string: decimal digits only, documented as an integer */
export function queryInt(min = 0, max = Number.MAX_SAFE_INTEGER) {
  const schema = z
    .string()
    .regex(/^(?:0|[1-9][0-9]{0,15})$/, "must be a decimal integer")
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be between ${min} and ${max}`);
  return documentedAs(schema, { type: "integer", minimum: min, maximum: max });
}

export const minPosition = queryInt().optional().describe("wait until the read models have applied this global position");
