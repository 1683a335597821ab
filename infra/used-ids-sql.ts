import { ONCE_PER_ACCOUNT } from "../domain/events.ts";

// The SQL stores index the id an account event records once (ONCE_PER_ACCOUNT) by an expression on the
// row, so EventStore.usedIds finds an id without the stream being read. The key is the one usedIdKey
// makes, `type:id`; `field` is how the dialect reads a text field of the row's `data` JSON. A query
// must repeat the expression and the predicate word for word for the planner to use the index.
export function usedIdSql(field: (name: string) => string): { key: string; types: string } {
  const entries = Object.entries(ONCE_PER_ACCOUNT);
  return {
    key: `(CASE type ${entries.map(([type, name]) => `WHEN '${type}' THEN '${type}:' || ${field(name)}`).join(" ")} END)`,
    types: `type IN (${entries.map(([type]) => `'${type}'`).join(", ")})`,
  };
}
