import type { EventStore } from "../../domain/event-store.ts";
import { allProjections } from "../../projections/index.ts";
import { runProjector } from "../../projections/projector.ts";
import { readCheckpoint } from "../../projections/checkpoints.ts";
import type { ReadStore } from "../../projections/read-store.ts";

const COLLECTIONS = [...new Set(allProjections.map((p) => p.collection))];

/** every projection document, by collection, in id order: for deep-equality checks */
export async function dumpReadModels(reads: ReadStore) {
  const dump: Record<string, unknown[]> = {};
  for (const name of COLLECTIONS) dump[name] = await reads.collection(name).find({}, { sort: { _id: 1 } });
  return dump;
}

/** projects everything up to the current head into `reads`, then stops */
export async function projectToHead(events: EventStore, reads: ReadStore, batchSize = 1000) {
  const head = await events.headPosition();
  const controller = new AbortController();
  if (head <= (await readCheckpoint(reads))) return;
  await runProjector({
    events,
    reads,
    projections: allProjections,
    signal: controller.signal,
    batchSize,
    onBatch: (position) => position >= head && controller.abort(),
  });
}
