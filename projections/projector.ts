import type { EventStore } from "../domain/event-store.ts";
import type { RecordedEvent } from "../domain/events.ts";
import { CHECKPOINTS, LIVE_PROJECTOR, readCheckpoint } from "./checkpoints.ts";
import { canHandle, type Projection } from "./projection.ts";
import type { BatchWrite, Doc, ReadStore } from "./read-store.ts";

export interface ProjectorOptions {
  events: EventStore;
  reads: ReadStore;
  projections: Projection[];
  /** checkpoint id; also a rebuild's identity */
  name?: string;
  /** collection name for a projection; rebuilds write into fresh collections */
  collectionOf?: (projection: Projection) => string;
  batchSize?: number;
  signal: AbortSignal;
  onBatch?: (position: number, events: number) => void;
  /** wraps the application of each batch (metrics, a span): calls `apply` once and returns its promise */
  observe?: (batch: RecordedEvent[], apply: () => Promise<void>) => Promise<void>;
  /** how long a small live batch waits for more (LINGER_MS), cut short by `urgency.hurry()` */
  lingerMs?: number;
  urgency?: Urgency;
}

/**
 * Applies one batch: each touched document is loaded once, every event newer than the document's
 * `_position` is applied in order, and the results are written with position guards, then the
 * checkpoint. Where the store offers `writeBatch` (SQLite) documents and checkpoint commit together;
 * elsewhere (MongoDB) the checkpoint goes last, never ahead of the documents, and a crash in between
 * replays the batch, which the guards turn into no-ops.
 */
export async function applyBatch(
  options: Omit<ProjectorOptions, "signal" | "events"> & { events?: EventStore },
  batch: RecordedEvent[],
): Promise<void> {
  const { reads, projections, name = LIVE_PROJECTOR } = options;
  const collectionOf = options.collectionOf ?? ((p: Projection) => p.collection);
  const writes: BatchWrite[] = [];
  await Promise.all(
    projections.map(async (projection) => {
      const relevant = batch.filter((e) => canHandle(projection, e));
      if (relevant.length === 0) return;
      const touched = relevant.map((event) => ({ event, ids: projection.ids(event) }));
      const collection = collectionOf(projection);
      const ids = [...new Set(touched.flatMap((t) => t.ids))];
      const docs = new Map<string, Doc>((await reads.collection(collection).getMany(ids)).map((d) => [d._id, d]));
      const changed = new Map<string, Doc>();
      for (const { event, ids } of touched) {
        for (const id of ids) {
          const doc = docs.get(id) ?? null;
          if (doc && doc._position >= event.position) continue;
          const next = projection.evolve(doc, event, id);
          docs.set(id, next);
          changed.set(id, next);
        }
      }
      if (changed.size > 0) writes.push({ collection, op: "putIfNewer", docs: [...changed.values()] });
    }),
  );
  const last = batch.at(-1);
  const checkpoint: BatchWrite | null = last ? { collection: CHECKPOINTS, op: "put", doc: { _id: name, _position: last.position } } : null;
  if (reads.writeBatch) {
    await reads.writeBatch(checkpoint ? [...writes, checkpoint] : writes);
    return;
  }
  await Promise.all(writes.map((w) => w.op === "putIfNewer" && reads.collection(w.collection).putIfNewer(w.docs)));
  if (checkpoint?.op === "put") await reads.collection(CHECKPOINTS).put(checkpoint.doc);
}

const TICK = Symbol("tick");
const tick = () => new Promise<typeof TICK>((resolve) => setImmediate(() => resolve(TICK)));

/**
 * Live, a batch smaller than this waits briefly for more: fewer, larger writes. At 300 gateway requests/s
 * a 20 ms wait (it was 5) took about 40 % less of the projector thread's CPU (BENCHMARKS.md, session 21);
 * a query waiting for a position (`minPosition`) ends the wait at once (`Urgency`), so the lag it adds is
 * only that of reads nobody waits for.
 */
const SMALL_BATCH = 64;
const LINGER_MS = 20;

/** Ends the projector's linger early: a query waits for a position. A hurry during a batch ends the next linger. */
export interface Urgency {
  hurry(): void;
  /** resolves after `ms`, or at once when hurried (since the last linger ended) */
  linger(ms: number): Promise<void>;
}

export function urgency(): Urgency {
  let wake: (() => void) | undefined;
  let hurried = false;
  return {
    hurry() {
      if (wake) wake();
      else hurried = true;
    },
    linger(ms) {
      if (hurried) {
        hurried = false;
        return Promise.resolve();
      }
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, ms);
        wake = done;
      });
    },
  };
}

/** Catch-up from the stored checkpoint in batches, then live, until the signal aborts. */
export async function runProjector(options: ProjectorOptions): Promise<void> {
  const {
    events,
    reads,
    projections,
    name = LIVE_PROJECTOR,
    batchSize = 1000,
    signal,
    lingerMs = LINGER_MS,
    urgency: urgent = urgency(),
  } = options;
  const collectionOf = options.collectionOf ?? ((p: Projection) => p.collection);
  for (const projection of projections) {
    for (const fields of projection.indexes ?? []) await reads.collection(collectionOf(projection)).ensureIndex(fields);
  }
  const after = await readCheckpoint(reads, name);
  const iterator = events.subscribeToAll(after, signal)[Symbol.asyncIterator]();
  let pending = iterator.next();
  for (;;) {
    const first = await pending;
    if (first.done) return;
    const batch = [first.value];
    // take what is already available without waiting, up to batchSize: one tick per batch, so the
    // first moment the subscription would wait ends the batch
    const ready = tick();
    while (batch.length < batchSize) {
      pending = iterator.next();
      const next = await Promise.race([pending, ready]);
      if (next === TICK || next.done) break;
      batch.push(next.value);
    }
    if (batch.length === batchSize) pending = iterator.next();
    await (options.observe ? options.observe(batch, () => applyBatch(options, batch)) : applyBatch(options, batch));
    options.onBatch?.(batch.at(-1)!.position, batch.length);
    // let the rest of the process (HTTP, the relay) run between batches of a long catch-up
    if (batch.length < SMALL_BATCH && !signal.aborted) await urgent.linger(lingerMs);
    else await tick();
  }
}
