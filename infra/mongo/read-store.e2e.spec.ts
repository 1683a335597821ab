// Runs the read-store contract against a real MongoDB wire server (FerretDB on CI), in a database
// of its own per run, dropped afterwards. Skips (one line) when MONGO_URL is unset, fails when
// REQUIRE_ENGINES names mongo.
// Both sets of by-id paths run on whichever server is there: the detected default, and the other one
// forced (`scanningIdLookups`: FerretDB's insert-first, findOne-or-$in reads and unguarded replace,
// or MongoDB's `$in` reads and guarded replace).
import { randomUUID } from "node:crypto";
import { MongoClient } from "mongodb";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Collection, Doc, ReadStore } from "../../projections/read-store.ts";
import { engineUrl } from "../../test/engines/require-engine.ts";
import { coordinationContract } from "../../test/contracts/coordination.contract.ts";
import { readStoreContract } from "../../test/contracts/read-store.contract.ts";
import { openMongoReadStore } from "./read-store.ts";

const url = engineUrl("mongo", "MONGO_URL");

const dbName = `read_store_${randomUUID().slice(0, 8)}`;

describe.skipIf(!url)("MongoDB read store", () => {
  const mongo = url!;
  const open = async (scanningIdLookups: boolean) => {
    const store = await openMongoReadStore(mongo, dbName, { scanningIdLookups });
    return {
      store,
      cleanup: async () => {
        for (const name of await store.listCollections()) await store.collection(name).drop();
        await store.close();
      },
    };
  };
  for (const scanning of [true, false]) {
    const paths = scanning ? "scanning-id-lookup paths (FerretDB's)" : "indexed-id paths (MongoDB's)";
    readStoreContract(`mongo, ${paths}`, () => open(scanning), { writeBatch: false });

    describe(`mongo read store, ${paths}: batches larger than the point-lookup limit`, () => {
      let store: ReadStore, cleanup: () => Promise<void>, rows: Collection;
      beforeEach(async () => {
        ({ store, cleanup } = await open(scanning));
        rows = store.collection("rows");
      });
      afterEach(async () => cleanup());
      const row = (i: number, position: number): Doc => ({ _id: `r${String(i).padStart(3, "0")}`, _position: position, n: position });

      it("putIfNewer inserts, replaces older, skips newer and counts, on 60 ids at once", async () => {
        expect(await rows.putIfNewer(Array.from({ length: 40 }, (_, i) => row(i, 10)))).toBe(40);
        // ids 0-19 older (replaced), 20-39 stored newer or equal (skipped), 40-59 new (inserted)
        const next = Array.from({ length: 60 }, (_, i) => row(i, i < 20 ? 11 : i < 40 ? 10 - (i % 2) : 1));
        expect(await rows.putIfNewer(next)).toBe(40);
        expect(await rows.putIfNewer(next)).toBe(0);
        const all = await rows.getMany(next.map((d) => d._id).reverse());
        expect(all.map((d) => d._id)).toEqual(next.map((d) => d._id).reverse());
        expect(all.reverse().map((d) => d._position)).toEqual(next.map((d) => (d._id < "r020" ? 11 : d._id < "r040" ? 10 : 1)));
        expect(await rows.count()).toBe(60);
      });

      it("getMany reads few and many ids, skipping missing ones, in the order asked", async () => {
        await rows.putIfNewer(Array.from({ length: 30 }, (_, i) => row(i, 1)));
        const few = ["r005", "none", "r001", "r005"];
        expect((await rows.getMany(few)).map((d) => d._id)).toEqual(["r005", "r001"]);
        const many = [...Array.from({ length: 40 }, (_, i) => row(39 - i, 1)._id), "r003"];
        expect((await rows.getMany(many)).map((d) => d._id)).toEqual(many.slice(10, 40));
      });

      it("putIfNewer refused by another unique index keeps colliding and says so", async () => {
        await rows.ensureIndex(["n"], { unique: true });
        await rows.putIfNewer([row(1, 5)]);
        await expect(rows.putIfNewer([row(2, 5)])).rejects.toThrow(/kept colliding/);
        await expect(rows.putIfNewer([row(3, 5), row(4, 7)])).rejects.toThrow(/kept colliding/);
        expect((await rows.getMany(["r001", "r002", "r003", "r004"])).map((d) => d._id)).toEqual(["r001", "r004"]);
      });
    });
  }
  // one client (connection pool) per instance: on FerretDB only the insert is atomic, which is what the chain uses
  coordinationContract("mongo", async (instances) => {
    const stores = await Promise.all(Array.from({ length: instances }, () => openMongoReadStore(mongo, dbName)));
    return {
      stores,
      cleanup: async () => {
        for (const name of await stores[0]!.listCollections()) await stores[0]!.collection(name).drop();
        for (const store of stores) await store.close();
      },
    };
  });
  afterAll(async () => {
    const client = await MongoClient.connect(mongo);
    try {
      await client.db(dbName).dropDatabase();
    } finally {
      await client.close();
    }
  });
});
