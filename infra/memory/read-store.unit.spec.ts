import { createMemoryReadStore } from "./read-store.ts";
import { coordinationContract } from "../../test/contracts/coordination.contract.ts";
import { readStoreContract } from "../../test/contracts/read-store.contract.ts";

readStoreContract("memory", async () => {
  const store = createMemoryReadStore();
  return { store, cleanup: () => store.close() };
});

// one store object stands for every instance (its calls interleave at each await)
coordinationContract("memory", async (instances) => {
  const store = createMemoryReadStore();
  return { stores: Array.from({ length: instances }, () => store), cleanup: () => store.close() };
});
