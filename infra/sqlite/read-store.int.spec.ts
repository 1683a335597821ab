import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
