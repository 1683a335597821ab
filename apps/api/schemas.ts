import { z } from "zod";
import { documentedAs } from "./contract.ts";

// Shared request pieces. Each one accepts exactly what its documented JSON Schema says (the contract
// is fuzzed against the server), so no lenient coercions: "", " 5" or "0x10" are not integers.

export { moneyOut, nonNegativeMoney, nonZeroMoney, positiveMoney } from "./money-schema.ts";

export const id = z.string().min(1).max(128).regex(/^[A-Za-z0-9_.:@-]+$/, "letters, digits and _ . : @ - only");
export const userIdParams = z.strictObject({ userId: id });
export const isoTime = z.iso.datetime({ offset: true });
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
