import type { Doc, ReadStore } from "./read-store.ts";

// Checkpoints: `{_id, _position}`, the global position a reader of $all has applied. The live projector
// writes "main", a rebuild "rebuild:<projection>", the relay "relay:<topic>" (infra/kafka/relay.ts).

/** the checkpoint id of the live projector (rebuilds use their own) */
export const LIVE_PROJECTOR = "main";

export const CHECKPOINTS = "checkpoints";

export const checkpoints = (reads: ReadStore) => reads.collection<Doc>(CHECKPOINTS);

export async function readCheckpoint(reads: ReadStore, name: string = LIVE_PROJECTOR): Promise<number> {
  return (await checkpoints(reads).get(name))?._position ?? 0;
}
