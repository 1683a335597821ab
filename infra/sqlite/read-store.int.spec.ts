import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { coordinationContract } from "../../test/contracts/coordination.contract.ts";
import { readStoreContract } from "../../test/contracts/read-store.contract.ts";
import { openSqliteReadStore } from "./read-store.ts";

readStoreContract("sqlite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "read-store-"));
  const store = openSqliteReadStore(join(dir, "read.db"));
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

// one connection per instance, on one file
coordinationContract("sqlite", async (instances) => {
  const dir = mkdtempSync(join(tmpdir(), "read-store-"));
  const stores = Array.from({ length: instances }, () => openSqliteReadStore(join(dir, "read.db")));
  return {
    stores,
    cleanup: async () => {
      for (const store of stores) await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
