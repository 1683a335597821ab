import type { EventStore } from "../domain/event-store.ts";
import type { Projection } from "./projection.ts";
import { checkpoints, readCheckpoint } from "./checkpoints.ts";
import { applyBatch } from "./projector.ts";
import type { ReadStore } from "./read-store.ts";

// Rebuild: replay $all from the start into fresh collections
// `<collection>__rebuild` while the live ones keep serving, then switch with renameCollection.
//
// Safe to interrupt and run again: each projection keeps its own checkpoint `rebuild:<name>`, written
// after its documents (applyBatch), so a rerun resumes there and the position guards turn re-applied
// events into no-ops. A leftover rebuild collection without a checkpoint, or a checkpoint without its
// collection (a crash between the rename and the checkpoint delete), starts that projection over.
//
// Switch-over: rename, then apply the events that arrived since the rebuild's last page to the
// now-live collections (guarded), so nothing the live projector wrote to the old collections in that
// window is lost. Pitfall: a live projector in ANOTHER process that writes a newer event to a document
// between the rename and that catch-up makes the guard skip the older event; stop the projector for
// money views (the embedded default runs the CLI with the server stopped), and `audit verify` checks
// balances afterwards.

export const rebuildCollection = (p: Projection) => `${p.collection}__rebuild`;
const checkpointOf = (p: Projection) => `rebuild:${p.name}`;
const CATCH_UP = "rebuild:switch";

export interface RebuildProgress {
  position: number;
  head: number;
  /** events read in this run */
  events: number;
}

export interface RebuildOptions {
  events: EventStore;
  reads: ReadStore;
  projections: Projection[];
  signal?: AbortSignal;
  pageSize?: number;
  /** build but leave the live collections alone (inspect `<collection>__rebuild`) */
  switchOver?: boolean;
  /** awaited: a slow callback paces the rebuild */
  onProgress?: (progress: RebuildProgress) => void | Promise<void>;
}

export interface RebuildResult {
  completed: boolean;
  /** events read in this run (a resumed run reads only the rest) */
  events: number;
  /** where each projection started in this run: 0 = from scratch */
  resumedFrom: Record<string, number>;
  position: number;
  collections: { name: string; documents: number }[];
}

export async function rebuildProjections(options: RebuildOptions): Promise<RebuildResult> {
  const { events, reads, projections, signal, pageSize = 2000, switchOver = true } = options;
  const existing = new Set(await reads.listCollections());
  const positions = new Map<Projection, number>();
  for (const p of projections) {
    let at = await readCheckpoint(reads, checkpointOf(p));
    if (at === 0 || !existing.has(rebuildCollection(p))) {
      await reads.collection(rebuildCollection(p)).drop();
      at = 0;
    }
    for (const fields of p.indexes ?? []) await reads.collection(rebuildCollection(p)).ensureIndex(fields);
    positions.set(p, at);
  }
  const resumedFrom = Object.fromEntries(projections.map((p) => [p.name, positions.get(p)!]));
  const head = await events.headPosition();
  let position = Math.min(...positions.values());
  let read = 0;
  for (;;) {
    if (signal?.aborted) return { completed: false, events: read, resumedFrom, position, collections: [] };
    const page = await events.readAll({ after: position, maxCount: pageSize });
    if (page.length === 0) break;
    await Promise.all(
      projections.map(async (p) => {
        const todo = page.filter((e) => e.position > positions.get(p)!);
        if (todo.length === 0) return;
        const into = { events, reads, projections: [p], collectionOf: rebuildCollection, name: checkpointOf(p) };
        await applyBatch(into, todo);
        positions.set(p, todo.at(-1)!.position);
      }),
    );
    position = page.at(-1)!.position;
    read += page.length;
    await options.onProgress?.({ position, head: Math.max(head, position), events: read });
  }
  if (!switchOver)
    return { completed: true, events: read, resumedFrom, position, collections: await counts(reads, projections, rebuildCollection) };

  const built = new Set(await reads.listCollections());
  for (const p of projections) {
    // a projection that saw no events (and has no index) never created its rebuild collection
    if (built.has(rebuildCollection(p))) await reads.renameCollection(rebuildCollection(p), p.collection);
    else await reads.collection(p.collection).drop();
    await checkpoints(reads).delete(checkpointOf(p));
  }
  // events that arrived after the last page went to the old collections only: apply them again here
  for (let after = position; ;) {
    const page = await events.readAll({ after, maxCount: pageSize });
    if (page.length === 0) break;
    const live = { events, reads, projections, name: CATCH_UP };
    await applyBatch(live, page);
    after = page.at(-1)!.position;
  }
  await checkpoints(reads).delete(CATCH_UP);
  return { completed: true, events: read, resumedFrom, position, collections: await counts(reads, projections, (p) => p.collection) };
}

/** Rebuilds running or interrupted (a projection's checkpoint lives until its switch-over): where each got to. */
export async function pendingRebuilds(reads: ReadStore, projections: Projection[]) {
  const found = await checkpoints(reads).getMany(projections.map(checkpointOf));
  const at = new Map(found.map((c) => [c._id, c._position]));
  return projections
    .filter((p) => at.has(checkpointOf(p)))
    .map((p) => ({ projection: p.name, collection: rebuildCollection(p), position: at.get(checkpointOf(p))! }));
}

const counts = (reads: ReadStore, projections: Projection[], name: (p: Projection) => string) =>
  Promise.all(projections.map(async (p) => ({ name: name(p), documents: await reads.collection(name(p)).count() })));
