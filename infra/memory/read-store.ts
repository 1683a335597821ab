// In-memory read store for unit tests. Documents are stored as a JSON round trip, so tests see
// exactly what the real stores return (undefined fields dropped, -0 becomes 0); every call is
// synchronous inside, hence atomic.
import type { BatchWrite, Collection, Doc, Filter, ReadStore, Scalar, SumOptions, SumRow } from "../../projections/read-store.ts";
import {
  checkCollectionName,
  checkDoc,
  checkField,
  checkLimit,
  compareValues,
  matches,
  newestPerId,
  parseFilter,
  parseSort,
  sortSumRows,
} from "../read-store.semantics.ts";

interface Stored {
  docs: Map<string, Doc>;
  unique: string[][];
}
const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

export function createMemoryReadStore(): ReadStore {
  let data = new Map<string, Stored>();
  const peek = (name: string) => data.get(checkCollectionName(name));
  const slot = (name: string): Stored => {
    const found = peek(name);
    if (found) return found;
    const created: Stored = { docs: new Map(), unique: [] };
    data.set(name, created);
    return created;
  };
  const uniqueKey = (doc: Doc, fields: string[]) =>
    fields.some((f) => doc[f] === undefined || doc[f] === null) ? undefined : JSON.stringify(fields.map((f) => doc[f]));
  /** Unique indexes skip documents lacking a field (as SQLite and FerretDB do; MongoDB would not). */
  const violates = (s: Stored, doc: Doc) =>
    s.unique.some((fields) => {
      const key = uniqueKey(doc, fields);
      return key !== undefined && [...s.docs.values()].some((o) => o._id !== doc._id && uniqueKey(o, fields) === key);
    });
  const write = (s: Stored, doc: Doc) => {
    const stored = copy(checkDoc(doc));
    if (violates(s, stored)) throw new Error(`read store: duplicate key on a unique index (${doc._id})`);
    s.docs.set(doc._id, stored);
  };
  const putIfNewer = (name: string, docs: Doc[]) => {
    const s = slot(name);
    let written = 0;
    for (const doc of newestPerId(docs)) {
      const old = s.docs.get(doc._id);
      if (old && old._position >= doc._position) continue;
      write(s, doc);
      written++;
    }
    return written;
  };
  /** all-or-nothing: on a throw, every collection gets its previous document map back */
  const atomically = <T>(fn: () => T): T => {
    const before = new Map([...data].map(([n, s]) => [n, { docs: new Map(s.docs), unique: s.unique }]));
    try {
      return fn();
    } catch (error) {
      data = before;
      throw error;
    }
  };
  const apply = (w: BatchWrite): number => {
    if (w.op === "putIfNewer") return putIfNewer(w.collection, w.docs);
    if (w.op === "put") write(slot(w.collection), w.doc);
    else peek(w.collection)?.docs.delete(w.id);
    return 0;
  };

  function collection<D extends Doc>(name: string): Collection<D> {
    checkCollectionName(name);
    const all = (filter?: Filter) => {
      const clauses = parseFilter(filter);
      return [...(peek(name)?.docs.values() ?? [])].filter((d) => matches(d, clauses)) as D[];
    };
    return {
      name,
      getMany: async (ids) =>
        [...new Set(ids)].flatMap((id) => {
          const d = peek(name)?.docs.get(id);
          return d ? [copy(d) as D] : [];
        }),
      get: async (id) => {
        const d = peek(name)?.docs.get(id);
        return d ? (copy(d) as D) : null;
      },
      async find(filter, options) {
        const sort = parseSort(options);
        checkLimit(options?.limit);
        const found = all(filter).sort((a, b) => {
          for (const [f, dir] of sort) {
            const cmp = compareValues(a[f], b[f]) * dir;
            if (cmp !== 0) return cmp;
          }
          return 0;
        });
        return copy(found.slice(0, options?.limit ?? found.length));
      },
      count: async (filter) => all(filter).length,
      async sum(filter, { groupBy, fields }: SumOptions) {
        [...groupBy, ...fields].forEach(checkField);
        const rows = new Map<string, SumRow>();
        for (const doc of all(filter)) {
          const key = Object.fromEntries(groupBy.map((g) => [g, (doc[g] ?? null) as Scalar]));
          const id = JSON.stringify(groupBy.map((g) => key[g]));
          const row = rows.get(id) ?? { key, count: 0, sums: Object.fromEntries(fields.map((f) => [f, 0])) };
          row.count++;
          for (const f of fields) if (typeof doc[f] === "number") row.sums[f] = (row.sums[f] ?? 0) + (doc[f] as number);
          rows.set(id, row);
        }
        return sortSumRows([...rows.values()], groupBy);
      },
      putIfNewer: async (docs) => atomically(() => putIfNewer(name, docs)),
      async insertIfAbsent(doc) {
        const s = slot(name);
        if (s.docs.has(checkDoc(doc)._id) || violates(s, doc)) return false;
        write(s, doc);
        return true;
      },
      put: async (doc) => write(slot(name), doc),
      delete: async (id) => void peek(name)?.docs.delete(id),
      async ensureIndex(fields, options) {
        fields.forEach(checkField);
        const s = slot(name);
        if (!options?.unique || s.unique.some((u) => u.join() === fields.join())) return;
        const keys = [...s.docs.values()].map((d) => uniqueKey(d, fields)).filter((k) => k !== undefined);
        if (new Set(keys).size !== keys.length) throw new Error(`read store: duplicate keys for a unique index on ${name}`);
        s.unique.push([...fields]);
      },
      drop: async () => void data.delete(name),
    };
  }

  return {
    collection,
    writeBatch: async (writes) => atomically(() => writes.map(apply)),
    listCollections: async () => [...data.keys()].sort(),
    async renameCollection(source, target) {
      const s = peek(source);
      checkCollectionName(target);
      if (!s) throw new Error(`read store: collection ${source} does not exist`);
      if (source === target) return;
      data.delete(source);
      data.set(target, s);
    },
    close: async () => {},
  };
}
