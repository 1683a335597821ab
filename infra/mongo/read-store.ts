// MongoDB read store (production), kept to what FerretDB 1.24 also runs (README, "Engine notes"):
// single-document writes, no transactions, $group with $sum only. `_id` is the document id.
//
// FerretDB pitfalls handled here:
// - one `update` command stops at its first error (`ordered` is ignored) and reports wrong upsert
//   indexes, so putIfNewer never upserts in bulk: it inserts the absent documents (insertMany,
//   unordered: per-document duplicate-key errors) and replaces the older ones; losers of a race are
//   re-examined in the next round;
// - FerretDB 1.24 on SQLite uses no index to find documents: its `{_id: x}` pushdown filters on
//   `sjson->'$._id'` while the _id index is on `sjson->"_id"` (SQLite plans a SCAN), so every read,
//   update or delete by _id scans the collection, in SQLite (about 2.5 µs a document) when the filter
//   is `_id` alone, otherwise decoding every document in FerretDB (about 40 µs: `$in`, or the
//   `{_id, _position: {$lt}}` guard). Only the unique index checks of inserts are indexed. There
//   (`scanningIdLookups`) reads by id pick per call the cheaper of one `$in` scan and a findOne per
//   id (up to POINT_LOOKUPS ids), putIfNewer inserts first and reads positions only for the ids
//   already present, and replaces an older document by `_id` alone, not under the guard: still
//   read-then-write, as the guarded replace was there. MongoDB keeps `$in` and the atomic guarded
//   replace, both served by its _id index;
// - a $group stage feeds its documents to its first accumulator only (the others read an exhausted
//   iterator and return 0), so on FerretDB `sum` runs one aggregation per accumulator and joins them;
// - renameCollection's `dropTarget` is not implemented: drop, then rename (a short gap without the
//   target collection);
// - a guarded replace is read-then-write there, not atomic: run one projector per collection.
import { MongoBulkWriteError, MongoClient, type Document, type WriteConcernSettings } from "mongodb";
import type { Collection, Doc, ReadStore, Scalar, SumRow } from "../../projections/read-store.ts";
import {
  checkCollectionName,
  checkDoc,
  checkField,
  checkLimit,
  newestPerId,
  parseFilter,
  parseSort,
  sortSumRows,
} from "../read-store.semantics.ts";

export interface MongoReadStoreOptions {
  /** default `{ w: "majority" }`; FerretDB accepts and ignores it */
  writeConcern?: WriteConcernSettings;
  /** run each $sum of a `sum` as its own aggregation; default: only on FerretDB */
  oneAccumulatorPerGroup?: boolean;
  /**
   * the server scans the collection for every lookup by `_id` (FerretDB 1.24 on SQLite): read few ids
   * one findOne each, insert before reading positions, replace an older document by `_id` without the
   * `_position` guard (read-then-write); default: only on FerretDB
   */
  scanningIdLookups?: boolean;
}

const DUPLICATE_KEY = 11000;
const NOT_IMPLEMENTED = 238;
const ROUNDS = 5;
/** up to this many ids, findOne each (SQLite-side scans) beats one `$in` (a scan decoding every document) */
const POINT_LOOKUPS = 16;
/** findOne calls in flight at once per read (the measured gain stops at 2-4 on 2 cores) */
const LOOKUP_CONCURRENCY = 4;
const code = (error: unknown) => (error as { code?: unknown } | null)?.code;
const num = (v: unknown) => (typeof v === "number" ? v : Number(v ?? 0));

/** `fn` over `items`, at most `limit` at once, results in order; after a failure it starts nothing new
 * and rejects with the first error once the calls in flight have settled (no request left running) */
async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (errors.length === 0 && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!);
      } catch (error) {
        errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) throw errors[0];
  return results;
}

const MONGO_OP = { eq: "$eq", gt: "$gt", gte: "$gte", lt: "$lt", lte: "$lte", in: "$in" } as const;
function toQuery(filter: Parameters<Collection["find"]>[0] | undefined): Document {
  const query: Record<string, Document> = {};
  for (const c of parseFilter(filter)) {
    query[c.field] = { ...query[c.field], [MONGO_OP[c.op]]: c.op === "in" ? c.values : c.value };
  }
  return query;
}

export async function openMongoReadStore(url: string, dbName: string, options: MongoReadStoreOptions = {}): Promise<ReadStore> {
  const client = new MongoClient(url, { ignoreUndefined: true, writeConcern: options.writeConcern ?? { w: "majority" } });
  await client.connect();
  const db = client.db(dbName);
  const isFerretDB = "ferretdbVersion" in (await db.admin().command({ buildInfo: 1 }));
  let dropTargetWorks = !isFerretDB;
  const oneAccumulatorPerGroup = options.oneAccumulatorPerGroup ?? isFerretDB;
  const scanningIdLookups = options.scanningIdLookups ?? isFerretDB;

  function collection<D extends Doc>(name: string): Collection<D> {
    const coll = db.collection<Doc>(checkCollectionName(name));
    /** the stored documents of `ids` (distinct), by id; `projection` limits the fields read */
    const byIds = async (ids: string[], projection?: Document): Promise<Map<string, Doc>> => {
      if (ids.length === 0) return new Map();
      const found =
        scanningIdLookups && ids.length <= POINT_LOOKUPS
          ? (await mapBounded(ids, LOOKUP_CONCURRENCY, (_id) => coll.findOne({ _id }, { projection }))).filter((d) => d !== null)
          : await coll.find({ _id: { $in: ids } }, { projection }).toArray();
      return new Map(found.map((d) => [d._id, d]));
    };
    const positions = async (ids: string[]) => new Map([...(await byIds(ids, { _position: 1 }))].map(([id, d]) => [id, num(d._position)]));
    /** inserts the documents whose id is absent; returns how many, and the others (duplicate keys) */
    const insertAbsent = async (docs: Doc[]): Promise<{ inserted: number; present: Doc[] }> => {
      if (docs.length === 0) return { inserted: 0, present: [] };
      try {
        return { inserted: (await coll.insertMany(docs, { ordered: false })).insertedCount, present: [] };
      } catch (error) {
        if (!(error instanceof MongoBulkWriteError)) throw error;
        const failures = [error.writeErrors].flat();
        if (failures.some((f) => f.code !== DUPLICATE_KEY)) throw error;
        return { inserted: error.insertedCount, present: failures.map((f) => docs[f.index]!) };
      }
    };
    /** replaces each document if the stored one is older; returns how many, and which to re-examine */
    const replaceOlder = async (older: Doc[]): Promise<{ replaced: number; retry: Doc[] }> => {
      if (older.length === 0) return { replaced: 0, retry: [] };
      const result = await coll.bulkWrite(
        older.map((d) => ({
          // FerretDB: by _id alone, as the guard scans decoding every document; the positions were read
          // just before, so a newer write in between is overwritten: one projector per collection there
          replaceOne: { filter: scanningIdLookups ? { _id: d._id } : { _id: d._id, _position: { $lt: d._position } }, replacement: d },
        })),
        { ordered: false },
      );
      // which ones lost a race (or were deleted) is not reported: re-read them all; the written ones
      // now stand equal
      return { replaced: result.matchedCount, retry: result.matchedCount < older.length ? older : [] };
    };
    /** one round of putIfNewer: inserts the absent documents first (no read: the unique _id index
     * refuses the present ones), then reads the positions of the present ones and replaces the older */
    const insertThenReplace = async (pending: Doc[]): Promise<{ written: number; retry: Doc[] }> => {
      const { inserted, present } = await insertAbsent(pending);
      const stored = await positions(present.map((d) => d._id));
      // absent again: deleted meanwhile, or refused by another unique index (then it keeps colliding)
      const gone = present.filter((d) => !stored.has(d._id));
      const { replaced, retry } = await replaceOlder(present.filter((d) => (stored.get(d._id) ?? Infinity) < d._position));
      return { written: inserted + replaced, retry: [...gone, ...retry] };
    };
    /** one round of putIfNewer: reads the positions, inserts the absent, replaces the older (guarded) */
    const readThenWrite = async (pending: Doc[]): Promise<{ written: number; retry: Doc[] }> => {
      const stored = await positions(pending.map((d) => d._id));
      const { replaced, retry } = await replaceOlder(pending.filter((d) => (stored.get(d._id) ?? Infinity) < d._position));
      const { inserted, present } = await insertAbsent(pending.filter((d) => !stored.has(d._id)));
      return { written: replaced + inserted, retry: [...retry, ...present] };
    };

    return {
      name,
      async getMany(ids) {
        const unique = [...new Set(ids)];
        const byId = await byIds(unique);
        return unique.flatMap((id) => (byId.get(id) as D | undefined) ?? []);
      },
      get: async (id) => (await coll.findOne({ _id: id })) as D | null,
      async find(filter, opts) {
        const query = toQuery(filter);
        const sort = parseSort(opts);
        checkLimit(opts?.limit);
        if (opts?.limit === 0) return [];
        const cursor = coll.find(query, sort.length ? { sort: Object.fromEntries(sort) } : {});
        return (await (opts?.limit ? cursor.limit(opts.limit) : cursor).toArray()) as unknown as D[];
      },
      count: async (filter) => coll.countDocuments(toQuery(filter)),
      async sum(filter, { groupBy, fields }) {
        const match = toQuery(filter);
        const _id = groupBy.length ? Object.fromEntries(groupBy.map((g) => [checkField(g), `$${g}`])) : null;
        const accumulators = [["n", { $sum: 1 }], ...fields.map((f, i) => [`s${i}`, { $sum: `$${checkField(f)}` }])];
        const groups = oneAccumulatorPerGroup ? accumulators.map((a) => [a]) : [accumulators];
        const results = await Promise.all(
          groups.map((accs) => coll.aggregate([{ $match: match }, { $group: { _id, ...Object.fromEntries(accs) } }]).toArray()),
        );
        const rows = new Map<string, SumRow>();
        for (const r of results.flat()) {
          // MongoDB omits a missing group field from the key, FerretDB sets null: both key as null
          const key = Object.fromEntries(groupBy.map((g) => [g, ((r._id as Document | null)?.[g] ?? null) as Scalar]));
          const id = JSON.stringify(groupBy.map((g) => key[g]));
          const row = rows.get(id) ?? { key, count: 0, sums: Object.fromEntries(fields.map((f) => [f, 0])) };
          row.count += num(r.n);
          fields.forEach((f, i) => {
            row.sums[f] = (row.sums[f] ?? 0) + num(r[`s${i}`]);
          });
          rows.set(id, row);
        }
        return sortSumRows(
          [...rows.values()].filter((r) => r.count > 0),
          groupBy,
        );
      },
      async putIfNewer(docs) {
        let pending: Doc[] = newestPerId(docs);
        let written = 0;
        for (let round = 0; round < ROUNDS && pending.length > 0; round++) {
          const result = await (scanningIdLookups ? insertThenReplace : readThenWrite)(pending);
          written += result.written;
          pending = result.retry;
        }
        if (pending.length > 0) {
          throw new Error(`read store: ${pending.length} document(s) of ${name} kept colliding (unique index?)`);
        }
        return written;
      },
      async insertIfAbsent(doc) {
        try {
          await coll.insertOne(checkDoc(doc));
          return true;
        } catch (error) {
          if (code(error) === DUPLICATE_KEY) return false;
          throw error;
        }
      },
      async put(doc) {
        const write = () => coll.replaceOne({ _id: checkDoc(doc)._id }, doc, { upsert: true });
        // two concurrent upserts of one new id: the loser sees a duplicate key; the retry replaces
        await write().catch((error: unknown) => (code(error) === DUPLICATE_KEY ? write() : Promise.reject(error)));
      },
      delete: async (id) => void (await coll.deleteOne({ _id: id })),
      async ensureIndex(fields, opts) {
        await coll.createIndex(Object.fromEntries(fields.map((f) => [checkField(f), 1])), { unique: opts?.unique ?? false });
      },
      drop: async () => void (await coll.drop()),
    };
  }

  const exists = async (name: string) => (await db.listCollections({ name }, { nameOnly: true }).toArray()).length > 0;

  return {
    collection,
    async listCollections() {
      const all = await db.listCollections({}, { nameOnly: true }).toArray();
      return all
        .map((c) => c.name)
        .filter((n) => !n.startsWith("system."))
        .sort();
    },
    async renameCollection(source, target) {
      checkCollectionName(target);
      if (!(await exists(checkCollectionName(source)))) throw new Error(`read store: collection ${source} does not exist`);
      if (source === target) return;
      if (dropTargetWorks) {
        try {
          await db.renameCollection(source, target, { dropTarget: true });
          return;
        } catch (error) {
          if (code(error) !== NOT_IMPLEMENTED) throw error;
          dropTargetWorks = false;
        }
      }
      await db.collection(target).drop();
      await db.renameCollection(source, target);
    },
    close: () => client.close(),
  };
}
