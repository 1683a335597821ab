// The contract every ReadStore adapter passes (memory, SQLite, MongoDB/FerretDB). Each test gets a
// fresh store from the factory; documents are JSON-shaped (no Dates, no nested arrays: FerretDB).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Collection, Doc, ReadStore } from "../../projections/read-store.ts";
import { exactTotalsContract } from "./read-store.totals.contract.ts";

type Factory = () => Promise<{ store: ReadStore; cleanup: () => Promise<void> }>;
interface Row extends Doc {
  user?: string;
  day?: string;
  model?: string;
  n?: number;
  flag?: boolean;
}

const row = (id: string, position: number, fields: Partial<Row> = {}): Row => ({ _id: id, _position: position, ...fields });
const ids = (docs: Doc[]) => docs.map((d) => d._id);

/** `writeBatch: false` for adapters that do not offer it (MongoDB: no multi-document transactions on FerretDB) */
export function readStoreContract(name: string, factory: Factory, options: { writeBatch?: boolean } = {}): void {
  exactTotalsContract(name, factory);
  describe(`ReadStore contract: ${name}`, () => {
    let store: ReadStore, cleanup: () => Promise<void>, rows: Collection<Row>;
    beforeEach(async () => {
      ({ store, cleanup } = await factory());
      rows = store.collection<Row>("rows");
    });
    afterEach(async () => cleanup());

    const seed = () =>
      rows.putIfNewer([
        row("a", 1, { user: "u1", day: "2026-01-01", model: "gpt", n: 10, flag: true }),
        row("b", 2, { user: "u1", day: "2026-01-02", model: "gpt", n: 20, flag: false }),
        row("c", 3, { user: "u2", day: "2026-01-02", model: "claude", n: 30 }),
        row("d", 4, { user: "u2", day: "2026-01-03", model: "gpt", n: 40, flag: true }),
        row("e", 5, { user: "u3", day: "2026-01-04", model: "claude", n: 50 }),
      ]);

    it("round-trips documents exactly", async () => {
      const doc = row("rt", 9_007_199_254_740_991, {
        nested: { a: { b: "c" }, list: ["x", "y"], empty: {} },
        tags: ["t1", "t2"],
        none: null,
        max: Number.MAX_SAFE_INTEGER,
        min: -Number.MAX_SAFE_INTEGER,
        zero: 0,
        real: 0.125,
        yes: true,
        no: false,
        text: "ünïcødé ✓ \"quoted\" 'single'",
        blank: "",
      });
      await rows.put(doc);
      const read = [await rows.get("rt"), ...(await rows.find({ _id: "rt" })), ...(await rows.getMany(["rt"]))];
      expect(read).toEqual([doc, doc, doc]);
    });

    it("putIfNewer writes new and newer documents, ignores equal and older ones, counts writes", async () => {
      expect([await seed(), await seed()]).toEqual([5, 0]); // a replay changes nothing twice
      expect(await rows.putIfNewer([row("a", 1, { n: 99 }), row("b", 1, { n: 99 }), row("c", 7, { n: 7 }), row("z", 1)])).toBe(2);
      expect((await rows.getMany(["a", "b"])).map((d) => d.n)).toEqual([10, 20]);
      expect(await rows.get("c")).toEqual(row("c", 7, { n: 7 }));
      expect(await rows.putIfNewer([])).toBe(0);
    });

    it("putIfNewer keeps the highest position when a batch names an id twice", async () => {
      expect(await rows.putIfNewer([row("x", 5, { n: 5 }), row("x", 8, { n: 8 }), row("x", 6, { n: 6 })])).toBe(1);
      expect((await rows.get("x"))?.n).toBe(8);
    });

    it("get and getMany read by id, in the order asked, skipping missing ids", async () => {
      await seed();
      expect([await rows.get("nope"), await store.collection("never_written").get("a")]).toEqual([null, null]);
      expect(ids(await rows.getMany(["d", "nope", "a", "d"]))).toEqual(["d", "a"]);
      expect(await rows.getMany([])).toEqual([]);
    });

    it("find filters by equality, ranges and in, typed like MongoDB", async () => {
      await seed();
      await rows.put(row("s", 6, { n: "30" as unknown as number, flag: 1 as unknown as boolean }));
      expect(ids(await rows.find({ user: "u2" }))).toEqual(expect.arrayContaining(["c", "d"]));
      expect(await rows.count({ user: "u2" })).toBe(2);
      expect(ids(await rows.find({ n: 30 }))).toEqual(["c"]);
      expect(ids(await rows.find({ flag: true })).sort()).toEqual(["a", "d"]);
      expect(ids(await rows.find({ flag: false }))).toEqual(["b"]);
      const sorted = { sort: { _id: 1 as const } };
      expect(ids(await rows.find({ n: { gt: 20, lte: 40 } }, sorted))).toEqual(["c", "d"]);
      expect(ids(await rows.find({ n: { gte: 20, lt: 40 } }, sorted))).toEqual(["b", "c"]);
      expect(ids(await rows.find({ day: { gte: "2026-01-02", lt: "2026-01-04" } }, sorted))).toEqual(["b", "c", "d"]);
      expect(ids(await rows.find({ day: { gt: "2026-01-02" } }, sorted))).toEqual(["d", "e"]);
      expect(ids(await rows.find({ day: { lte: "2026-01-01" } }, sorted))).toEqual(["a"]);
      expect(ids(await rows.find({ model: { in: ["claude", "other"] } }, sorted))).toEqual(["c", "e"]);
      expect(ids(await rows.find({ n: { in: [10, 50, "30"] } }, sorted))).toEqual(["a", "e", "s"]);
      expect(ids(await rows.find({ n: { in: [] } }))).toEqual([]);
      expect(ids(await rows.find({ user: "u1", n: { gt: 10 } }))).toEqual(["b"]);
      expect(ids(await rows.find({ _id: { in: ["a", "e"] }, _position: { gte: 2 } }))).toEqual(["e"]);
      expect(await rows.find({ user: "nobody" })).toEqual([]);
    });

    it("find sorts on one or two fields, either direction, and limits", async () => {
      await seed();
      expect(ids(await rows.find({}, { sort: { n: -1 } }))).toEqual(["e", "d", "c", "b", "a"]);
      expect(ids(await rows.find({}, { sort: { day: 1, _id: -1 } }))).toEqual(["a", "c", "b", "d", "e"]);
      expect(ids(await rows.find({}, { sort: { model: -1, n: 1 } }))).toEqual(["a", "b", "d", "c", "e"]);
      expect(ids(await rows.find({ model: "gpt" }, { sort: { n: -1 }, limit: 2 }))).toEqual(["d", "b"]);
      expect([(await rows.find({}, { limit: 0 })).length, (await rows.find({}, { limit: 3 })).length]).toEqual([0, 3]);
    });

    it("count counts all or filtered documents", async () => {
      expect(await rows.count()).toBe(0);
      await seed();
      expect(await rows.count()).toBe(5);
      expect(await rows.count({ model: "gpt", n: { gte: 20 } })).toBe(2);
    });

    it("sum groups by zero, one or two fields with a count and exact integer sums", async () => {
      await seed();
      const big = 2 ** 50;
      await rows.putIfNewer([
        row("f", 6, { user: "u3", day: "2026-01-04", model: "claude", n: big }),
        row("g", 7, { user: "u3", day: "2026-01-05", model: "claude", n: big + 1 }),
      ]);
      expect(await rows.sum({}, { groupBy: [], fields: ["n"] })).toEqual([{ key: {}, count: 7, sums: { n: 150 + 2 * big + 1 } }]);
      expect(await rows.sum({ user: "nobody" }, { groupBy: [], fields: ["n"] })).toEqual([]);
      const byModel = await rows.sum({ n: { lt: 100 } }, { groupBy: ["model"], fields: ["n", "_position"] });
      expect(byModel).toEqual([
        { key: { model: "claude" }, count: 2, sums: { n: 80, _position: 8 } },
        { key: { model: "gpt" }, count: 3, sums: { n: 70, _position: 7 } },
      ]);
      const byTwo = await rows.sum({}, { groupBy: ["user", "model"], fields: ["n", "missing"] });
      expect(byTwo).toEqual([
        { key: { user: "u1", model: "gpt" }, count: 2, sums: { n: 30, missing: 0 } },
        { key: { user: "u2", model: "claude" }, count: 1, sums: { n: 30, missing: 0 } },
        { key: { user: "u2", model: "gpt" }, count: 1, sums: { n: 40, missing: 0 } },
        { key: { user: "u3", model: "claude" }, count: 3, sums: { n: 50 + 2 * big + 1, missing: 0 } },
      ]);
    });

    it("insertIfAbsent is an atomic claim: one winner among 20 concurrent callers", async () => {
      const claims = await Promise.all(Array.from({ length: 20 }, (_, i) => rows.insertIfAbsent(row("claim", 1, { n: i }))));
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect((await rows.get("claim"))?.n).toBe(claims.indexOf(true));
      expect(await rows.count()).toBe(1);
    });

    it("put replaces unconditionally; delete removes", async () => {
      await seed();
      await rows.put(row("e", 1, { n: 1 }));
      expect(await rows.get("e")).toEqual(row("e", 1, { n: 1 }));
      await Promise.all([rows.delete("e"), rows.delete("never-there")]);
      expect(await rows.get("e")).toBeNull();
      expect(await rows.count()).toBe(4);
    });

    it("ensureIndex is idempotent; a unique index refuses a second document with the same key", async () => {
      await seed();
      for (let i = 0; i < 2; i++) await rows.ensureIndex(["user", "day"]);
      await rows.ensureIndex(["model"], { unique: false });
      expect(ids(await rows.find({ user: "u2", day: "2026-01-03" }))).toEqual(["d"]);
      const keys = store.collection<Row>("keys");
      for (let i = 0; i < 2; i++) await keys.ensureIndex(["user", "model"], { unique: true });
      expect(await keys.insertIfAbsent(row("k1", 1, { user: "u1", model: "gpt" }))).toBe(true);
      expect(await keys.insertIfAbsent(row("k2", 2, { user: "u1", model: "gpt" }))).toBe(false);
      expect(await keys.insertIfAbsent(row("k3", 3, { user: "u1", model: "claude" }))).toBe(true);
      await expect(keys.put(row("k4", 4, { user: "u1", model: "gpt" }))).rejects.toThrow();
      expect(ids(await keys.find({}, { sort: { _id: 1 } }))).toEqual(["k1", "k3"]);
    });

    it("drop removes a collection, which stays usable; listCollections names written ones", async () => {
      await seed();
      await store.collection("other").put(row("o", 1));
      expect(await store.listCollections()).toEqual(expect.arrayContaining(["other", "rows"]));
      await rows.drop();
      await store.collection("never_written").drop();
      expect(await store.listCollections()).not.toContain("rows");
      expect(await rows.count()).toBe(0);
      expect([await rows.putIfNewer([row("a", 1)]), await rows.count()]).toEqual([1, 1]);
    });

    it("renameCollection replaces the target with the source, indexes included", async () => {
      await seed();
      const next = store.collection<Row>("rows_next");
      await next.ensureIndex(["user"], { unique: true });
      await next.putIfNewer([row("x", 9, { user: "u9" }), row("y", 9, { user: "u8" })]);
      await store.renameCollection("rows_next", "rows");
      expect(ids(await rows.find({}, { sort: { _id: 1 } }))).toEqual(["x", "y"]);
      expect(await rows.insertIfAbsent(row("z", 9, { user: "u9" }))).toBe(false);
      expect(await store.listCollections()).not.toContain("rows_next");
      expect(await store.collection("rows_next").count()).toBe(0); // gone, not just emptied
      await store.renameCollection("rows", "fresh");
      expect(await store.collection("fresh").count()).toBe(2);
      await expect(store.renameCollection("missing", "rows")).rejects.toThrow();
    });

    it("rejects field and collection names that are not plain identifiers", async () => {
      await expect(rows.find({ "a.b": 1 })).rejects.toThrow();
      await expect(rows.find({ "x') OR 1=1 --": 1 })).rejects.toThrow();
      await expect(rows.find({}, { sort: { $where: 1 } })).rejects.toThrow();
      await expect(rows.sum({}, { groupBy: ["a'b"], fields: [] })).rejects.toThrow();
      await expect(rows.ensureIndex(["$x"])).rejects.toThrow();
      expect(() => store.collection("bad name; DROP")).toThrow();
    });

    if (options.writeBatch !== false)
      it("writeBatch applies all writes or none", async () => {
        if (!store.writeBatch) throw new Error(`${name} offers no writeBatch: pass { writeBatch: false }`);
        const keys = store.collection("keys");
        await keys.ensureIndex(["user"], { unique: true }).then(() => keys.put(row("k1", 1, { user: "u1" })));
        expect(
          await store.writeBatch([
            { collection: "rows", op: "putIfNewer", docs: [row("a", 1), row("b", 1)] },
            { collection: "marks", op: "put", doc: row("projector", 1) },
          ]),
        ).toEqual([2, 0]);
        await expect(
          store.writeBatch([
            { collection: "rows", op: "putIfNewer", docs: [row("c", 2)] },
            { collection: "rows", op: "delete", id: "a" },
            { collection: "keys", op: "put", doc: row("k2", 2, { user: "u1" }) },
          ]),
        ).rejects.toThrow();
        expect(ids(await rows.find({}, { sort: { _id: 1 } }))).toEqual(["a", "b"]);
        expect(await store.collection("marks").get("projector")).toEqual(row("projector", 1));
      });
  });
}
