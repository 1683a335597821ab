// Semantics shared by every read-store adapter (memory, SQLite, MongoDB): what a valid field,
// collection, document, filter, sort and limit are, how values compare across types, and how a
// batch naming one id twice is reduced. The in-memory store is the executable reference of them.
import type { Doc, Filter, FindOptions, Scalar, SumRow } from "../projections/read-store.ts";

const FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;
const COLLECTION = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

/** Field names become SQL JSON paths and Mongo keys: identifiers only (no dots, no `$`). */
export function checkField(field: string): string {
  if (!FIELD.test(field)) throw new Error(`read store: invalid field name ${JSON.stringify(field)}`);
  return field;
}
export function checkCollectionName(name: string): string {
  if (!COLLECTION.test(name)) throw new Error(`read store: invalid collection name ${JSON.stringify(name)}`);
  return name;
}
export function checkDoc(doc: Doc): Doc {
  if (typeof doc._id !== "string" || doc._id === "" || !Number.isSafeInteger(doc._position)) {
    throw new Error(`read store: a document needs a string _id and an integer _position (${String(doc._id)})`);
  }
  return doc;
}

export type Clause =
  { field: string; op: "eq" | "gt" | "gte" | "lt" | "lte"; value: Scalar } | { field: string; op: "in"; values: Scalar[] };
const RANGE_OPS = ["gt", "gte", "lt", "lte"] as const;

function checkScalar(v: unknown): Scalar {
  if (typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v))) return v;
  throw new Error(`read store: filter values are strings, finite numbers or booleans, got ${String(v)}`);
}

/** Validates a filter into clauses (ANDed). A condition object needs at least one known operator. */
export function parseFilter(filter: Filter = {}): Clause[] {
  const clauses: Clause[] = [];
  for (const [field, cond] of Object.entries(filter)) {
    checkField(field);
    if (typeof cond !== "object" || cond === null) {
      clauses.push({ field, op: "eq", value: checkScalar(cond) });
      continue;
    }
    const keys = Object.keys(cond);
    const unknown = keys.filter((k) => k !== "in" && !(RANGE_OPS as readonly string[]).includes(k));
    if (keys.length === 0 || unknown.length > 0) throw new Error(`read store: bad condition on ${field}`);
    if (cond.in !== undefined) clauses.push({ field, op: "in", values: cond.in.map(checkScalar) });
    for (const op of RANGE_OPS) {
      const value = cond[op];
      if (value !== undefined) clauses.push({ field, op, value: checkScalar(value) });
    }
  }
  return clauses;
}

export function parseSort(options?: FindOptions): Array<[string, 1 | -1]> {
  return Object.entries(options?.sort ?? {}).map(([field, dir]) => {
    if (dir !== 1 && dir !== -1) throw new Error(`read store: sort direction of ${field} must be 1 or -1`);
    return [checkField(field), dir];
  });
}
export function checkLimit(limit: number | undefined): void {
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0)) throw new Error("read store: bad limit");
}

const rank = (v: unknown): number =>
  v === undefined || v === null
    ? 0
    : typeof v === "number"
      ? 1
      : typeof v === "string"
        ? 2
        : typeof v === "boolean"
          ? 5
          : Array.isArray(v)
            ? 4
            : 3;
/** Mongo's cross-type order (missing/null < numbers < strings < objects < arrays < booleans). */
export function compareValues(a: unknown, b: unknown): number {
  const ra = rank(a),
    rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 1 || ra === 2 || ra === 5) return a === b ? 0 : (a as Scalar) < (b as Scalar) ? -1 : 1;
  return ra === 0 ? 0 : compareValues(JSON.stringify(a), JSON.stringify(b));
}

/** A batch may name an id twice: keep its highest `_position` (the first one on a tie). */
export function newestPerId<D extends Doc>(docs: D[]): D[] {
  const newest = new Map<string, D>();
  for (const doc of docs) {
    const seen = newest.get(checkDoc(doc)._id);
    if (!seen || doc._position > seen._position) newest.set(doc._id, doc);
  }
  return [...newest.values()];
}

/** Range and `in` conditions compare within one type only, like MongoDB's type bracketing. */
export function matches(doc: Doc, clauses: Clause[]): boolean {
  return clauses.every((c) => {
    const v = doc[c.field];
    if (c.op === "in") return c.values.some((x) => x === v);
    if (typeof v !== typeof c.value) return false;
    const cmp = compareValues(v, c.value);
    return c.op === "eq" ? cmp === 0 : c.op === "gt" ? cmp > 0 : c.op === "gte" ? cmp >= 0 : c.op === "lt" ? cmp < 0 : cmp <= 0;
  });
}

/** Adapters return sum rows ordered by key; a missing or null group field keys as null. */
export function sortSumRows(rows: SumRow[], groupBy: string[]): SumRow[] {
  return rows.sort((a, b) => {
    for (const g of groupBy) {
      const cmp = compareValues(a.key[g], b.key[g]);
      if (cmp !== 0) return cmp;
    }
    return 0;
  });
}
