// MongoDB read store (production), kept to what FerretDB 1.24 also runs (notes/ENGINES.md §3.4):
// single-document writes, no transactions, $group with $sum only. `_id` is the document id.
//
// FerretDB pitfalls handled here:
// - one `update` command stops at its first error (`ordered` is ignored) and reports wrong upsert
//   indexes, so putIfNewer never upserts in bulk: it reads the stored positions, inserts the absent
//   documents (insertMany, unordered: per-document duplicate-key errors) and replaces the older
//   ones under a `_position < p` guard; losers of a race are re-examined in the next round;
// - a $group stage feeds its documents to its first accumulator only (the others read an exhausted
//   iterator and return 0), so on FerretDB `sum` runs one aggregation per accumulator and joins them;
// - renameCollection's `dropTarget` is not implemented: drop, then rename (a short gap without the
//   target collection);
// - a guarded replace is read-then-write there, not atomic: run one projector per collection.
import { MongoBulkWriteError, MongoClient, type Document, type WriteConcernSettings } from "mongodb";
import type { Collection, Doc, ReadStore, Scalar, SumRow } from "../../projections/read-store.ts";
import {
  checkCollectionName, checkDoc, checkField, checkLimit, newestPerId, parseFilter, parseSort, sortSumRows,
} from "../read-store.semantics.ts";

export interface MongoReadStoreOptions {
  /** default `{ w: "majority" }`; FerretDB accepts and ignores it */
  writeConcern?: WriteConcernSettings;
  /** run each $sum of a `sum` as its own aggregation; default: only on FerretDB */
  oneAccumulatorPerGroup?: boolean;
}

const DUPLICATE_KEY = 11000;
const NOT_IMPLEMENTED = 238;
const ROUNDS = 5;
const code = (error: unknown) => (error as { code?: unknown } | null)?.code;
const num = (v: unknown) => (typeof v === "number" ? v : Number(v ?? 0));

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

  function collection<D extends Doc>(name: string): Collection<D> {
    const coll = db.collection<Doc>(checkCollectionName(name));
    const positions = async (ids: string[]) => new Map((await coll
      .find({ _id: { $in: ids } }, { projection: { _position: 1 } }).toArray()).map((d) => [d._id, num(d._position)]));

    return {
      name,
      async getMany(ids) {
        const found = await coll.find({ _id: { $in: ids } }).toArray();
        const byId = new Map(found.map((d) => [d._id, d as D]));
        return [...new Set(ids)].flatMap((id) => byId.get(id) ?? []);
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
        const results = await Promise.all(groups.map((accs) =>
          coll.aggregate([{ $match: match }, { $group: { _id, ...Object.fromEntries(accs) } }]).toArray()));
        const rows = new Map<string, SumRow>();
        for (const r of results.flat()) {
          // MongoDB omits a missing group field from the key, FerretDB sets null: both key as null
          const key = Object.fromEntries(groupBy.map((g) => [g, ((r._id as Document | null)?.[g] ?? null) as Scalar]));
          const id = JSON.stringify(groupBy.map((g) => key[g]));
          const row = rows.get(id) ?? { key, count: 0, sums: Object.fromEntries(fields.map((f) => [f, 0])) };
          row.count += num(r.n);
          fields.forEach((f, i) => { row.sums[f] = (row.sums[f] ?? 0) + num(r[`s${i}`]); });
          rows.set(id, row);
        }
        return sortSumRows([...rows.values()].filter((r) => r.count > 0), groupBy);
      },
      async putIfNewer(docs) {
        let pending: Doc[] = newestPerId(docs);
        let written = 0;
        for (let round = 0; round < ROUNDS && pending.length > 0; round++) {
          const stored = await positions(pending.map((d) => d._id));
          const absent = pending.filter((d) => !stored.has(d._id));
          const older = pending.filter((d) => (stored.get(d._id) ?? Infinity) < d._position);
          const retry: Doc[] = [];
          if (older.length > 0) {
            const result = await coll.bulkWrite(older.map((d) => ({
              replaceOne: { filter: { _id: d._id, _position: { $lt: d._position } }, replacement: d },
            })), { ordered: false });
            written += result.matchedCount;
            // which ones lost a race is not reported: re-read them all; the written ones now stand equal
            if (result.matchedCount < older.length) retry.push(...older);
          }
          if (absent.length > 0) {
            try {
              written += (await coll.insertMany(absent, { ordered: false })).insertedCount;
            } catch (error) {
              if (!(error instanceof MongoBulkWriteError)) throw error;
              const failures = [error.writeErrors].flat();
              if (failures.some((f) => f.code !== DUPLICATE_KEY)) throw error;
              written += error.insertedCount;
              retry.push(...failures.map((f) => absent[f.index]!));
            }
          }
          pending = retry;
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
      return all.map((c) => c.name).filter((n) => !n.startsWith("system.")).sort();
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
