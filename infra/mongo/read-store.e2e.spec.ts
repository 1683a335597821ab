// Runs the read-store contract against a real MongoDB wire server (FerretDB on CI), in a database
// of its own per run, dropped afterwards. Skips (one line) when MONGO_URL is unset.
import { randomUUID } from "node:crypto";
import { MongoClient } from "mongodb";
import { afterAll, describe, it } from "vitest";
import { engineUrl } from "../engines/require-engine.ts";
import { readStoreContract } from "../read-store.contract.ts";
import { openMongoReadStore } from "./read-store.ts";

const url = engineUrl("mongo", "MONGO_URL");

if (url) {
  const dbName = `read_store_${randomUUID().slice(0, 8)}`;
  readStoreContract("mongo", async () => {
    const store = await openMongoReadStore(url, dbName);
    return {
      store,
      cleanup: async () => {
        for (const name of await store.listCollections()) await store.collection(name).drop();
        await store.close();
      },
    };
  });
  afterAll(async () => {
    const client = await MongoClient.connect(url);
    try { await client.db(dbName).dropDatabase(); } finally { await client.close(); }
  });
} else {
  describe.skip("ReadStore contract: mongo (MONGO_URL unset)", () => it("skipped", () => {}));
}
