import { createMemoryReadStore } from "./read-store.ts";
import { readStoreContract } from "../../test/contracts/read-store.contract.ts";

readStoreContract("memory", async () => {
  const store = createMemoryReadStore();
  return { store, cleanup: () => store.close() };
});
