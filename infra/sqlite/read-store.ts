// SQLite read store (the embedded default): one table per collection, `rs_<name>(id, position, doc)`
// with the whole document as JSON text. Fields are reached with json_extract(doc, '$.field'): field
// names are validated identifiers spliced into the SQL (an expression index only serves queries that
// spell the same expression), values are always bound. Read models are rebuildable from the event
// log, so synchronous=NORMAL (WAL) is enough: a power loss may drop the last commits, never corrupt.
import Database from "better-sqlite3";
import type { BatchWrite, Collection, Doc, Filter, ReadStore, Scalar, SumRow } from "../../projections/read-store.ts";
import {
  checkCollectionName,
  checkDoc,
  checkField,
  checkLimit,
  newestPerId,
  parseFilter,
  parseSort,
  sortSumRows,
  type Clause,
} from "../read-store.semantics.ts";

const table = (name: string) => `"rs_${checkCollectionName(name)}"`;
/** `.` is in neither collection nor field names: index names cannot collide */
const indexName = (name: string, fields: string[], unique?: boolean) => `"ix_${name}.${fields.join(".")}${unique ? ".unique" : ""}"`;
const column = (field: string) =>
  field === "_id" ? "id" : field === "_position" ? "position" : `json_extract(doc, '$.${checkField(field)}')`;
const KIND = { string: "('text')", number: "('integer','real')", boolean: "('true','false')" } as const;
const kind = (v: Scalar) => typeof v as keyof typeof KIND;
const bind = (v: Scalar) => (typeof v === "boolean" ? Number(v) : v);

/** Type-bracketed like MongoDB: `{gt: 5}` never matches a string, `{eq: 1}` never matches `true`. */
function where(clauses: Clause[], params: unknown[]): string {
  const parts = clauses.map((c) => {
    const expr = column(c.field);
    const guard = (v: Scalar) =>
      c.field === "_id"
        ? typeof v === "string"
          ? "1"
          : "0"
        : c.field === "_position"
          ? typeof v === "number"
            ? "1"
            : "0"
          : `json_type(doc, '$.${c.field}') IN ${KIND[kind(v)]}`;
    if (c.op !== "in") {
      params.push(bind(c.value));
      const op = { eq: "=", gt: ">", gte: ">=", lt: "<", lte: "<=" }[c.op];
      return `(${expr} ${op} ? AND ${guard(c.value)})`;
    }
    const groups = Object.keys(KIND)
      .map((k) => c.values.filter((v) => kind(v) === k))
      .filter((g) => g.length > 0);
    const ors = groups.map((g) => {
      params.push(...g.map(bind));
      return `(${expr} IN (${g.map(() => "?").join(",")}) AND ${guard(g[0]!)})`;
    });
    return ors.length > 0 ? `(${ors.join(" OR ")})` : "0";
  });
  return parts.length > 0 ? `WHERE ${parts.join(" AND ")}` : "";
}

/** SQLite's page cache of the read store's connection, in KiB: 8 MiB instead of better-sqlite3's 16 MiB, which a
 * grown database fills and keeps (the event store's connections: PAGE_CACHE_KIB in event-store.ts) */
export const READ_STORE_PAGE_CACHE_KIB = 8192;

export function openSqliteReadStore(file: string): ReadStore {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 5000");
  db.pragma("temp_store = MEMORY"); // savepoint journals of group commits stay off the disk
  db.pragma(`cache_size = -${READ_STORE_PAGE_CACHE_KIB}`);
  const created = new Set<string>();
  const statements = new Map<string, Database.Statement>();
  const sql = (text: string) => {
    let stmt = statements.get(text);
    if (statements.size > 500) statements.clear(); // `in` lists of many lengths make many texts
    if (!stmt) statements.set(text, (stmt = db.prepare(text)));
    return stmt;
  };
  /** collections exist once touched, like MongoDB's implicit creation */
  const ensure = (name: string) => {
    if (created.has(name)) return table(name);
    db.exec(`CREATE TABLE IF NOT EXISTS ${table(name)} (id TEXT PRIMARY KEY, position INTEGER NOT NULL, doc TEXT NOT NULL)`);
    created.add(name);
    return table(name);
  };
  const schemaChanged = () => {
    created.clear();
    statements.clear();
  };
  /** a rolled-back transaction may have created a table: forget what we knew */
  const forgetOnError = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (error) {
      schemaChanged();
      throw error;
    }
  };
  const exists = (name: string) => sql("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(`rs_${name}`) !== undefined;
  const upsert = (t: string, guarded: boolean) =>
    `INSERT INTO ${t} (id, position, doc) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET ` +
    `position = excluded.position, doc = excluded.doc${guarded ? ` WHERE excluded.position > ${t}.position` : ""}`;
  const row = (doc: Doc) => [checkDoc(doc)._id, doc._position, JSON.stringify(doc)];

  const putIfNewer = db.transaction((name: string, docs: Doc[]) => {
    const stmt = sql(upsert(ensure(name), true));
    return newestPerId(docs).reduce((n, doc) => n + stmt.run(...row(doc)).changes, 0);
  });
  const put = (name: string, doc: Doc) => void sql(upsert(ensure(name), false)).run(...row(doc));
  const remove = (name: string, id: string) => void sql(`DELETE FROM ${ensure(name)} WHERE id = ?`).run(id);
  const writeBatch = db.transaction((writes: BatchWrite[]) =>
    writes.map((w) => {
      if (w.op === "putIfNewer") return putIfNewer(w.collection, w.docs);
      if (w.op === "put") put(w.collection, w.doc);
      else remove(w.collection, w.id);
      return 0;
    }),
  );
  /** SQLite cannot rename an index: recreate the source's indexes under the target's names */
  const rename = db.transaction((source: string, target: string) => {
    if (!exists(checkCollectionName(source))) throw new Error(`read store: collection ${source} does not exist`);
    checkCollectionName(target);
    if (source === target) return;
    db.exec(`DROP TABLE IF EXISTS ${table(target)}`);
    db.exec(`ALTER TABLE ${table(source)} RENAME TO ${table(target)}`);
    const indexes = db
      .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL")
      .all(`rs_${target}`) as Array<{ name: string; sql: string }>;
    for (const ix of indexes) {
      db.exec(`DROP INDEX "${ix.name}"`);
      db.exec(ix.sql.replace(`"${ix.name}"`, `"ix_${target}${ix.name.slice(`ix_${source}`.length)}"`));
    }
  });
  const parse = <D>(rows: unknown[]) => rows.map((r) => JSON.parse((r as { doc: string }).doc) as D);

  /** reads of a collection never written return nothing and do not create it */
  const readable = (name: string): string | undefined => {
    if (created.has(name)) return table(name);
    if (!exists(checkCollectionName(name))) return undefined;
    created.add(name);
    return table(name);
  };

  function collection<D extends Doc>(name: string): Collection<D> {
    const t = table(name);
    const select = (filter: Filter | undefined, params: unknown[]) => {
      const text = where(parseFilter(filter), params);
      const from = readable(name);
      return from === undefined ? undefined : `FROM ${from} ${text}`;
    };
    return {
      name,
      async getMany(ids) {
        const from = select({}, []);
        if (!from) return [];
        const found = parse<D>(sql(`SELECT doc ${from} WHERE id IN (SELECT value FROM json_each(?))`).all(JSON.stringify(ids)));
        const byId = new Map(found.map((d) => [d._id, d]));
        return [...new Set(ids)].flatMap((id) => byId.get(id) ?? []);
      },
      async get(id) {
        const from = select({}, []);
        return (from && parse<D>(sql(`SELECT doc ${from} WHERE id = ?`).all(id))[0]) || null;
      },
      async find(filter, options) {
        const params: unknown[] = [];
        checkLimit(options?.limit);
        const order = parseSort(options).map(([f, dir]) => `${column(f)} ${dir === 1 ? "ASC" : "DESC"}`);
        const from = select(filter, params);
        if (!from) return [];
        if (options?.limit !== undefined) params.push(options.limit);
        const text =
          `SELECT doc ${from}${order.length ? ` ORDER BY ${order.join(", ")}` : ""}` + `${options?.limit !== undefined ? " LIMIT ?" : ""}`;
        return parse<D>(sql(text).all(...params));
      },
      async count(filter) {
        const params: unknown[] = [];
        const from = select(filter, params);
        return from ? (sql(`SELECT COUNT(*) AS n ${from}`).get(...params) as { n: number }).n : 0;
      },
      async sum(filter, { groupBy, fields }) {
        const params: unknown[] = [];
        // `doc -> '$.g'` is the JSON text of the value: keeps true apart from 1, missing and null merge
        const keys = groupBy.map((g, i) => `COALESCE(doc -> '$.${checkField(g)}', 'null') AS k${i}`);
        const sums = fields.map(
          (f, i) =>
            `SUM(CASE WHEN json_type(doc, '$.${checkField(f)}') IN ('integer','real') THEN json_extract(doc, '$.${f}') END) AS s${i}`,
        );
        const from = select(filter, params);
        if (!from) return [];
        const text =
          `SELECT ${[...keys, "COUNT(*) AS n", ...sums].join(", ")} ${from}` +
          (groupBy.length ? ` GROUP BY ${groupBy.map((_, i) => `k${i}`).join(", ")}` : "");
        const rows = (sql(text).all(...params) as Array<Record<string, unknown>>).filter((r) => (r.n as number) > 0);
        return sortSumRows(
          rows.map((r): SumRow => ({
            key: Object.fromEntries(groupBy.map((g, i) => [g, JSON.parse(r[`k${i}`] as string) as Scalar])),
            count: r.n as number,
            sums: Object.fromEntries(fields.map((f, i) => [f, (r[`s${i}`] as number | null) ?? 0])),
          })),
          groupBy,
        );
      },
      putIfNewer: async (docs) => forgetOnError(() => putIfNewer(name, docs)),
      insertIfAbsent: async (doc) =>
        sql(`INSERT INTO ${ensure(name)} (id, position, doc) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`).run(...row(doc)).changes === 1,
      put: async (doc) => put(name, doc),
      delete: async (id) => remove(name, id),
      async ensureIndex(fields, options) {
        const exprs = fields.map(column).join(", ");
        db.exec(
          `CREATE ${options?.unique ? "UNIQUE " : ""}INDEX IF NOT EXISTS ${indexName(name, fields, options?.unique)} ON ${ensure(name)} (${exprs})`,
        );
      },
      async drop() {
        db.exec(`DROP TABLE IF EXISTS ${t}`);
        schemaChanged();
      },
    };
  }

  return {
    collection,
    writeBatch: async (writes) => forgetOnError(() => writeBatch(writes)),
    async listCollections() {
      const rows = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'rs\\_%' ESCAPE '\\'").all();
      return (rows as Array<{ name: string }>).map((r) => r.name.slice(3)).sort();
    },
    async renameCollection(source, target) {
      try {
        rename(source, target);
      } finally {
        schemaChanged();
      }
    },
    close: async () => void db.close(),
  };
}
