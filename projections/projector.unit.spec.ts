import { describe, expect, it, vi } from "vitest";
import type { EventStore } from "../domain/event-store.ts";
import type { AnalyticsEventTracked, NewEvent, RecordedEvent } from "../domain/events.ts";
import { createMemoryEventStore } from "../infra/memory/event-store.ts";
import { createMemoryReadStore } from "../infra/memory/read-store.ts";
import type { Projection } from "./projection.ts";
import { applyBatch, runProjector, urgency } from "./projector.ts";
import { startProjector } from "./projector-handle.ts";
import { LIVE_PROJECTOR, readCheckpoint } from "./checkpoints.ts";
import type { Doc, ReadStore } from "./read-store.ts";

// The projector's runtime on in-memory stores, with a counting projection whose documents record
// every event applied to them: each event is applied once per document, in order, guarded by
// `_position`; the checkpoint follows the documents; catch-up resumes from it.

interface Tally extends Doc {
  seen: number[];
}
type Tracked = RecordedEvent<AnalyticsEventTracked>;
const tally: Projection<Tally> = {
  name: "tally",
  collection: "tallies",
  handles: ["analytics_event_tracked"],
  ids: (e) => [(e as Tracked).data.userId ?? "anonymous", "all"],
  evolve: (doc, e, id) => ({ _id: id, _position: e.position, seen: [...(doc?.seen ?? []), e.position] }),
  indexes: [["seen"]],
};

let n = 0;
const tracked = (userId: string): NewEvent => ({
  type: "analytics_event_tracked",
  data: { name: `e${++n}`, userId, properties: {}, timestamp: "2026-01-01T00:00:00.000Z" },
  metadata: {
    eventId: crypto.randomUUID(),
    occurredAt: "2026-01-01T00:00:00.000Z",
    actor: { type: "system", id: "t" },
    correlationId: "c",
    causationId: "c",
    schemaVersion: 1,
  },
});
const recorded = (users: string[], from = 1): RecordedEvent[] =>
  users.map((u, i) => ({ ...tracked(u), streamName: `analytics-${u}`, revision: 0, position: from + i }) as RecordedEvent);

/** the read store without writeBatch (MongoDB's path), logging every write in order */
function withoutBatch(reads: ReadStore, log: string[]): ReadStore {
  return {
    ...reads,
    writeBatch: undefined,
    collection: <D extends Doc>(name: string) => {
      const c = reads.collection<D>(name);
      return {
        ...c,
        name: c.name,
        getMany: async (ids: string[]) => (log.push(`${name}.getMany ${ids.join(",")}`), c.getMany(ids)),
        get: (id: string) => c.get(id),
        putIfNewer: async (docs: D[]) => (log.push(`${name}.putIfNewer ${docs.map((d) => d._id).join(",")}`), c.putIfNewer(docs)),
        put: async (doc: D) => (log.push(`${name}.put ${doc._id}@${doc._position}`), c.put(doc)),
        ensureIndex: async (fields: string[]) => (log.push(`${name}.ensureIndex ${fields.join(",")}`), c.ensureIndex(fields)),
      };
    },
  };
}

const doc = async (reads: ReadStore, id: string, collection = "tallies") => reads.collection<Tally>(collection).get(id);

describe("applyBatch", () => {
  it("applies each event once per document it touches, in order, then the checkpoint", async () => {
    const reads = createMemoryReadStore();
    await applyBatch({ events: createMemoryEventStore(), reads, projections: [tally] }, recorded(["a", "b", "a"]));
    expect(await doc(reads, "a")).toEqual({ _id: "a", _position: 3, seen: [1, 3] });
    expect(await doc(reads, "b")).toEqual({ _id: "b", _position: 2, seen: [2] });
    expect(await doc(reads, "all")).toEqual({ _id: "all", _position: 3, seen: [1, 2, 3] });
    expect(await readCheckpoint(reads)).toBe(3);
    expect(await readCheckpoint(reads, "other")).toBe(0);
  });

  it.each([true, false])(
    "a replayed batch changes nothing twice; a partly new one applies only what is new (writeBatch: %s)",
    async (batched) => {
      const log: string[] = [];
      const memory = createMemoryReadStore();
      const reads = batched ? memory : withoutBatch(memory, log);
      const options = { events: createMemoryEventStore(), reads, projections: [tally] };
      const first = recorded(["a", "a", "b"]);
      await applyBatch(options, first);
      await applyBatch(options, first); // e.g. a crash between the documents and the checkpoint
      await applyBatch(options, [...first.slice(1), ...recorded(["a", "b"], 4)]); // positions 2..5
      expect(await doc(reads, "a")).toEqual({ _id: "a", _position: 4, seen: [1, 2, 4] });
      expect(await doc(reads, "b")).toEqual({ _id: "b", _position: 5, seen: [3, 5] });
      expect(await doc(reads, "all")).toEqual({ _id: "all", _position: 5, seen: [1, 2, 3, 4, 5] });
      expect(await readCheckpoint(reads)).toBe(5);
      // without writeBatch the checkpoint is written after the documents, never before
      if (!batched) expect(log.slice(0, 3)).toEqual(["tallies.getMany a,all,b", "tallies.putIfNewer a,all,b", "checkpoints.put main@3"]);
    },
  );

  it("with writeBatch: the changed documents and then the checkpoint, in ONE batch; nothing for unchanged documents", async () => {
    const memory = createMemoryReadStore();
    const batches: string[][] = [];
    const reads: ReadStore = {
      ...memory,
      writeBatch: async (writes) => (batches.push(writes.map((w) => `${w.collection}.${w.op}`)), memory.writeBatch!(writes)),
    };
    const first = recorded(["a"]);
    await applyBatch({ events: createMemoryEventStore(), reads, projections: [tally] }, first);
    await applyBatch({ events: createMemoryEventStore(), reads, projections: [tally] }, first); // replay: documents unchanged
    expect(batches).toEqual([["tallies.putIfNewer", "checkpoints.put"], ["checkpoints.put"]]);
  });

  it("events no projection handles move only the checkpoint; an empty batch writes nothing", async () => {
    const log: string[] = [];
    const reads = withoutBatch(createMemoryReadStore(), log);
    const other = { ...recorded(["a"])[0]!, type: "api_key_revoked", position: 7 } as RecordedEvent;
    await applyBatch({ events: createMemoryEventStore(), reads, projections: [tally] }, [other]);
    expect(log).toEqual(["checkpoints.put main@7"]);
    await applyBatch({ events: createMemoryEventStore(), reads, projections: [tally] }, []);
    expect(log).toEqual(["checkpoints.put main@7"]);
    expect(await reads.listCollections()).not.toContain("tallies");
  });

  it("writes a rebuild into its own collections under its own checkpoint", async () => {
    const reads = createMemoryReadStore();
    await applyBatch(
      { events: createMemoryEventStore(), reads, projections: [tally], name: "rebuild-1", collectionOf: (p) => `${p.collection}_next` },
      recorded(["a"]),
    );
    expect(await doc(reads, "a", "tallies_next")).toEqual({ _id: "a", _position: 1, seen: [1] });
    expect(await doc(reads, "a")).toBeNull();
    expect([await readCheckpoint(reads, "rebuild-1"), await readCheckpoint(reads, LIVE_PROJECTOR)]).toEqual([1, 0]);
  });
});

describe("runProjector", () => {
  async function store(users: string[]): Promise<EventStore> {
    const events = createMemoryEventStore();
    for (const u of users) await events.append(`analytics-${u}-${++n}`, [tracked(u)], "no_stream");
    return events;
  }

  it("creates indexes, catches up in batches of at most batchSize, follows live appends, stops on abort", async () => {
    const events = await store(["a", "b", "a", "b", "a", "b", "a"]);
    const log: string[] = [];
    const reads = withoutBatch(createMemoryReadStore(), log);
    const controller = new AbortController();
    const batches: [number, number][] = [];
    let live = false;
    const running = runProjector({
      events,
      reads,
      projections: [tally],
      batchSize: 3,
      signal: controller.signal,
      onBatch: (position, count) => {
        batches.push([position, count]);
        if (position === 7 && !live) {
          live = true;
          void events.append("analytics-late", [tracked("c")], "no_stream");
        }
        if (position === 8) controller.abort();
      },
    });
    await running;
    expect(log[0]).toBe("tallies.ensureIndex seen");
    expect(batches.every(([, count]) => count >= 1 && count <= 3)).toBe(true);
    expect(batches.reduce((sum, [, count]) => sum + count, 0)).toBe(8);
    expect(batches.map(([position]) => position)).toEqual([...batches.map(([position]) => position)].sort((x, y) => x - y));
    expect(batches.at(-1)).toEqual([8, 1]);
    expect((await doc(reads, "all"))!.seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect((await doc(reads, "c"))!.seen).toEqual([8]);
    expect(await readCheckpoint(reads)).toBe(8);
  });

  it("without onBatch and without indexes it just projects", async () => {
    const events = await store(["a", "b"]);
    const log: string[] = [];
    const reads = withoutBatch(createMemoryReadStore(), log);
    const controller = new AbortController();
    const running = runProjector({ events, reads, projections: [{ ...tally, indexes: undefined }], signal: controller.signal });
    await vi.waitFor(async () => expect(await readCheckpoint(reads)).toBe(2));
    controller.abort();
    await running;
    expect(log.filter((l) => l.includes("ensureIndex"))).toEqual([]);
    expect((await doc(reads, "all"))!.seen).toEqual([1, 2]);
  });

  it("resumes after its checkpoint: what it applied before is not applied again", async () => {
    const events = await store(["a", "a", "a", "a"]);
    const reads = createMemoryReadStore();
    await applyBatch({ events, reads, projections: [tally] }, (await events.readAll()).slice(0, 2));
    const controller = new AbortController();
    const batches: number[] = [];
    await runProjector({
      events,
      reads,
      projections: [tally],
      signal: controller.signal,
      onBatch: (position) => (batches.push(position), position === 4 && controller.abort()),
    });
    expect(batches).toEqual([4]); // one batch: positions 3 and 4, all that was available
    expect((await doc(reads, "a"))!.seen).toEqual([1, 2, 3, 4]);
  });
});

describe("the live projector's linger, cut short by a query waiting for a position", () => {
  it("urgency: a linger lasts its time unless hurried; a hurry between lingers ends the next one at once, once", async () => {
    vi.useFakeTimers();
    try {
      const u = urgency();
      let ended = false;
      void u.linger(1000).then(() => (ended = true));
      await vi.advanceTimersByTimeAsync(999);
      expect(ended).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(ended).toBe(true);
      ended = false;
      void u.linger(1000).then(() => (ended = true));
      u.hurry();
      await vi.advanceTimersByTimeAsync(0);
      expect(ended).toBe(true);
      u.hurry(); // while no linger runs (a batch is being applied)
      let next = false;
      void u.linger(1000).then(() => (next = true));
      await vi.advanceTimersByTimeAsync(0);
      expect(next).toBe(true);
      let after = false;
      void u.linger(1000).then(() => (after = true));
      await vi.advanceTimersByTimeAsync(999);
      expect(after).toBe(false); // the hurry was used up
    } finally {
      vi.useRealTimers();
    }
  });

  it("with a 10-minute linger, a minPosition wait still sees a new event applied (waitFor hurries the projector), and stop ends the linger", async () => {
    const events = createMemoryEventStore();
    const reads = createMemoryReadStore();
    const projector = await startProjector(events, reads, [tally], (e) => expect.fail(String(e)), undefined, undefined, 600_000);
    await events.append("analytics-first", [tracked("a")], "no_stream");
    await vi.waitFor(() => expect(projector.position()).toBe(1)); // applied, nobody waiting: it lingers now
    const { position } = await events.append("analytics-second", [tracked("a")], "no_stream");
    expect(await projector.waitFor(position, 3_000)).toBe(true);
    expect((await doc(reads, "a"))!.seen).toEqual([1, position]);
    await projector.stop(); // lingering again after that batch: stop must not wait 10 minutes
  });
});
