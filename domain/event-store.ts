import type { NewEvent, RecordedEvent } from "./events.ts";

/** "no_stream" to create a stream, or the revision of its last event (0-based). */
export type ExpectedRevision = "no_stream" | number;

export interface AppendResult {
  /** revision of the last appended event */
  nextExpectedRevision: number;
  /** global position of the last appended event */
  position: number;
}

export interface ReadAllOptions {
  /** exclusive: events with position > after; 0 = from the start */
  after?: number;
  maxCount?: number;
}

/** An event of $all with `data` and `metadata` as the JSON text the store holds (see readAllJson). */
export interface StoredEventJson {
  position: number;
  streamName: string;
  revision: number;
  type: string;
  data: string;
  metadata: string;
}

/**
 * The event store port. Adapters: SQLite (embedded default), EventStoreDB (production),
 * in-memory (unit tests only). All pass test/contracts/event-store.contract.ts.
 *
 * Guarantees every adapter gives:
 * - append is atomic and durable when it resolves; it succeeds only at the exact expected revision;
 * - re-appending the same event ids at the same expected revision is an idempotent success
 *   returning the original result; any other mismatch throws ConcurrencyError;
 * - positions in $all are strictly increasing and never reused.
 */
export interface EventStore {
  /**
   * `lastEventId`, only where the store chains appends: the stream's event at `expected` must be this
   * one, else the append conflicts (an append made behind one still in flight fails when that one did).
   */
  append(stream: string, events: NewEvent[], expected: ExpectedRevision, lastEventId?: string): Promise<AppendResult>;
  /**
   * Optional: appends take effect in the order they were called and honour `lastEventId`, so a writer
   * may append behind its own append still in flight (SQLite: one writer thread, in order). Stores on
   * a server (EventStoreDB, PostgreSQL) leave it out: their appends may take effect in any order.
   */
  readonly chainsAppends?: boolean;
  /** events of one stream in revision order, from `fromRevision` (inclusive); [] when it does not exist */
  readStream(stream: string, fromRevision?: number): Promise<RecordedEvent[]>;
  /** one page of $all in position order */
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  /**
   * Optional, same page as readAll but unparsed: adapters that store JSON text (SQLite) offer it so a
   * replay can write NDJSON without parsing and re-serialising every event. Text is returned verbatim.
   */
  readAllJson?(options?: ReadAllOptions): Promise<StoredEventJson[]>;
  /**
   * Optional: which of these keys (`type:id`, see ONCE_PER_ACCOUNT in events.ts) the stream's events
   * record, found through an index, so an account's state need not keep every id it ever used. Stores
   * that cannot (EventStoreDB) leave it out, and account states then keep all their ids.
   */
  usedIds?(stream: string, keys: string[]): Promise<Set<string>>;
  /** catch-up from `after` (exclusive), then live, until the signal aborts */
  subscribeToAll(after: number, signal: AbortSignal): AsyncIterable<RecordedEvent>;
  /** position of the last event in $all (0 when empty) */
  headPosition(): Promise<number>;
  /**
   * Optional, for readiness: rejects while an append could not be made durable now although the store
   * answers reads (an embedded store whose disk is full or read-only). Stores on a server leave it out:
   * their headPosition already fails when the server does not answer.
   */
  checkWritable?(): Promise<void>;
  close(): Promise<void>;
}

export class ConcurrencyError extends Error {
  readonly code = "EVENT_STORE.CONCURRENCY";
  constructor(
    readonly stream: string,
    readonly expected: ExpectedRevision,
    readonly actual: ExpectedRevision,
  ) {
    super(`stream ${stream}: expected revision ${expected}, actual ${actual}`);
  }
}
