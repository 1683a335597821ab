// The read-store port: documents keyed by `_id`, each carrying `_position`, the global position of the
// last event applied to it. Adapters: SQLite (embedded default), MongoDB/FerretDB (production),
// in-memory (unit tests). All pass test/contracts/read-store.contract.ts.
//
// Only operations that both MongoDB and FerretDB support: single-document atomic writes,
// equality/range filters, sort, limit, and grouped sums. No multi-document transactions.

export interface Doc {
  _id: string;
  _position: number;
  [field: string]: unknown;
}

export type Scalar = string | number | boolean;
export type Condition = Scalar | { gt?: Scalar; gte?: Scalar; lt?: Scalar; lte?: Scalar; in?: Scalar[] };
/** field -> condition, all ANDed; fields are top-level */
export type Filter = Record<string, Condition>;

export interface FindOptions {
  sort?: Record<string, 1 | -1>;
  limit?: number;
}

export interface SumOptions {
  groupBy: string[];
  /** numeric fields to add up */
  fields: string[];
}
export interface SumRow {
  key: Record<string, Scalar>;
  count: number;
  sums: Record<string, number>;
}

export interface Collection<D extends Doc = Doc> {
  readonly name: string;
  getMany(ids: string[]): Promise<D[]>;
  get(id: string): Promise<D | null>;
  find(filter: Filter, options?: FindOptions): Promise<D[]>;
  count(filter?: Filter): Promise<number>;
  sum(filter: Filter, options: SumOptions): Promise<SumRow[]>;
  /**
   * Writes each document only if the stored one is older (`_position` lower) or absent:
   * the guard that makes replays change nothing twice. Returns how many were written.
   */
  putIfNewer(docs: D[]): Promise<number>;
  /** inserts unless the id exists; true when inserted (atomic claim) */
  insertIfAbsent(doc: D): Promise<boolean>;
  /** unconditional replace (checkpoints, idempotency records) */
  put(doc: D): Promise<void>;
  delete(id: string): Promise<void>;
  ensureIndex(fields: string[], options?: { unique?: boolean }): Promise<void>;
  drop(): Promise<void>;
}

/** One write of a `ReadStore.writeBatch`; same semantics as the `Collection` method of that name. */
export type BatchWrite =
  | { collection: string; op: "putIfNewer"; docs: Doc[] }
  | { collection: string; op: "put"; doc: Doc }
  | { collection: string; op: "delete"; id: string };

export interface ReadStore {
  collection<D extends Doc = Doc>(name: string): Collection<D>;
  /**
   * Optional: applies the writes in order, all or none (one transaction); returns, per write, the
   * count written for putIfNewer and 0 for put and delete. SQLite and in-memory offer it, MongoDB not
   * (FerretDB has no transactions): without it write documents first and the checkpoint last — the
   * position guards make the replay after a crash in between harmless.
   */
  writeBatch?(writes: BatchWrite[]): Promise<number[]>;
  listCollections(): Promise<string[]>;
  /** copies nothing: drops `target` and renames `source` to it (rebuild switch-over) */
  renameCollection(source: string, target: string): Promise<void>;
  close(): Promise<void>;
}
