import { randomUUID } from "node:crypto";
import type { Collection, Doc } from "../../projections/read-store.ts";

// Compare-and-set shared by every instance, on every read store: a value is a chain of documents
// `{chain}:{v}`, one per version, and writing version v+1 is an insertIfAbsent that exactly one writer
// wins. An insert under the unique _id is the one atomic write FerretDB 1.24 offers: its updates
// (findAndModify, $inc, an update filtered on a version, the putIfNewer guard) read the document,
// change it in Go and overwrite it, so concurrent writers lose updates (measured: 300 concurrent $inc
// from 3 clients left 9; 240 version-checked updates from 6 clients "succeeded" 112 times, moving the
// version 44). SQLite, MongoDB and the in-memory store give the same insert; one mechanism serves all.
//
// Pitfall (ABA): versions are pruned, and a writer whose base is old could insert a version that
// existed and was deleted, "winning" on stale state. Version v+1 is created only after v was read as the
// latest, so it is younger than any read of v as the latest; a version is deleted only once it is
// PRUNE_AFTER_MS old; a write whose base was seen more than half that ago is refused (re-read), and an
// insert that took longer than PRUNE_AFTER_MS is checked against the latest version before it counts.
// This assumes the instances' clocks agree to well under a minute.

export interface VersionDoc<S> extends Doc {
  chain: string;
  v: number;
  /** when the writer created it (ms) */
  at: number;
  writer: string;
  state: S;
}

export interface Version<S> {
  readonly v: number;
  readonly state: S;
  /** when this process issued the read or the write that showed it (ms): version v+1, if any, is younger */
  readonly seen: number;
}

const PRUNE_AFTER_MS = 120_000;
const PRUNE_EVERY = 32;
/** this process, as a writer of versions */
const WRITER = randomUUID();

export interface Chain<S> {
  /** the newest version, null when the chain has none */
  latest(): Promise<Version<S> | null>;
  /**
   * Writes `state` as the version after `base` (null: the first version). Resolves to it, or to null when
   * another writer wrote that version first or `base` is too old to build on: read `latest()` and decide again.
   */
  write(base: Version<S> | null, state: S): Promise<Version<S> | null>;
}

/** The chain named `chain` in `collection` (which should have an index on ["chain", "v"]). */
export function versioned<S>(collection: Collection<VersionDoc<S>>, chain: string, now: () => number = Date.now): Chain<S> {
  const toVersion = (doc: VersionDoc<S>, seen: number): Version<S> => ({ v: doc.v, state: doc.state, seen });

  async function latest(): Promise<Version<S> | null> {
    const seen = now();
    const [doc] = await collection.find({ chain }, { sort: { v: -1 }, limit: 1 });
    return doc ? toVersion(doc, seen) : null;
  }

  async function prune(upTo: number) {
    const old = await collection.find({ chain, at: { lt: now() - PRUNE_AFTER_MS } });
    for (const doc of old) if (doc.v < upTo) await collection.delete(doc._id);
  }

  return {
    latest,
    async write(base, state) {
      if (base && now() - base.seen > PRUNE_AFTER_MS / 2) return null;
      const seen = now();
      const v = (base?.v ?? 0) + 1;
      const doc: VersionDoc<S> = { _id: `${chain}:${v}`, _position: v, chain, v, at: seen, writer: WRITER, state };
      if (!(await collection.insertIfAbsent(doc))) return null;
      if (base && now() - base.seen >= PRUNE_AFTER_MS) {
        // the insert stalled long enough that `v` may have existed and been pruned meanwhile
        const [newest] = await collection.find({ chain }, { sort: { v: -1 }, limit: 1 });
        if (newest?.v !== v || newest.writer !== WRITER || newest.at !== seen) return null;
      }
      if (v % PRUNE_EVERY === 0) void prune(v - 1).catch(() => undefined); // best effort: the next one retries
      return toVersion(doc, seen);
    },
  };
}
