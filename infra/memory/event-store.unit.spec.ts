import { describe, expect, it } from "vitest";
import { eventStoreContract, testEvent } from "../../test/contracts/event-store.contract.ts";
import { createMemoryEventStore } from "./event-store.ts";

eventStoreContract(
  "memory",
  async () => {
    const store = createMemoryEventStore();
    return { store, cleanup: () => store.close() };
  },
  { chainsAppends: true },
);

describe("memory event store", () => {
  it("stores copies: mutating an appended or read event changes nothing stored", async () => {
    const store = createMemoryEventStore();
    const event = testEvent();
    const original = structuredClone(event.data);
    await store.append("s-1", [event], "no_stream");
    if (event.type === "analytics_event_tracked") event.data.properties.seq = -1;
    const [read] = await store.readStream("s-1");
    expect(read?.data).toEqual(original);
    if (read?.type === "analytics_event_tracked") read.data.properties.seq = -2;
    const [again] = await store.readStream("s-1");
    expect(again?.data).toEqual(original);
  });

  it("ends live subscriptions when closed", async () => {
    const store = createMemoryEventStore();
    const iteration = (async () => {
      const seen = [];
      for await (const e of store.subscribeToAll(0, new AbortController().signal)) seen.push(e);
      return seen;
    })();
    await store.append("s-1", [testEvent()], "no_stream");
    await new Promise((r) => setImmediate(r));
    await store.close();
    expect(await iteration).toHaveLength(1);
  });
});
