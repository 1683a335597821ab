import { z } from "zod";
import { DomainError } from "../../domain/errors.ts";
import { parseMoney } from "../../domain/money.ts";

// Shared request pieces. Money arrives as a decimal string or a JSON number and leaves zod as
// integer micro-USD; more precision, NaN or overflow is a 400 naming the field.

export const money = z
  .union([z.string().max(40), z.number()])
  .transform((input, ctx) => {
    try {
      return parseMoney(input);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: error instanceof DomainError ? error.message : "invalid amount" });
      return z.NEVER;
    }
  })
  .meta({ type: "string", description: 'Decimal USD with at most 6 fraction digits, e.g. "12.5"; a JSON number is accepted', example: "12.5" });

export const positiveMoney = money.refine((m) => m > 0, "must be greater than 0");

/**
 * Ids (accounts, payments, keys…): 1–128 characters of `A–Z a–z 0–9 _ . : @ -`, the first one a letter,
 * digit or `_`. So never `.` or `..`, no `/`, no control or non-ASCII characters, no leading `-`:
 * every id is one plain URL path segment, a safe file name and never a CLI option.
 */
export const ID_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,127}$/;
export const id = z.string().regex(ID_PATTERN, "1 to 128 of A-Z a-z 0-9 _ . : @ -, starting with a letter, digit or _");
export const userIdParams = z.strictObject({ userId: id });
export const isoTime = z.iso.datetime({ offset: true });
export const minPosition = z.coerce.number().int().min(0).optional().describe("wait until the read models have applied this global position");
