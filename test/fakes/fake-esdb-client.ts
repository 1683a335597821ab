import { Readable } from "node:stream";
import { END, NO_STREAM, START, StreamNotFoundError, WrongExpectedVersionError } from "@eventstore/db-client";
import type { AppendExpectedRevision, EventData, Position, ReadPosition } from "@eventstore/db-client";
import type { EsdbClient } from "../../infra/esdb/event-store.ts";
import { comparePositions } from "../../infra/esdb/positions.ts";

// Test double of the SDK client, for unit tests without a server. It models what the adapter
// relies on, as read from the EventStoreDB 24.x source (IndexWriter.CheckCommit, AllReader):
// positions are byte offsets with gaps and commit === prepare; `$` system events interleave with
// ours; exact-revision idempotency compares the ids stored after `expected` and nothing else
// (an id reused at the current revision or in another stream is written again); $all reads are
// inclusive forwards and exclusive backwards; subscriptions are exclusive and live.

interface Rec {
  streamId: string;
  id: string;
  type: string;
  revision: bigint;
  position: Position;
  data: unknown;
  metadata: unknown;
  isJson: true;
  created: Date;
}
type Item = { event: Rec; commitPosition: bigint };

export interface FakeEsdb {
  client: EsdbClient;
  /** appends a `$`-typed event to a system stream, as the server does on its own */
  systemEvent(): void;
  /** ends every live subscription with this error, like a dropped connection */
  dropSubscriptions(error: Error): void;
  /** when set, idempotent appends answer without a position (the server's -1 case) */
  idempotentWithoutPosition: boolean;
  subscriptionsOpened: number;
}

export function createFakeEsdb(): FakeEsdb {
  const log: Rec[] = [];
  const live = new Set<{ stream: Readable; after: Position | undefined }>();
  let next = 128n;
  const item = (event: Rec): Item => ({ event, commitPosition: event.position.commit });
  const revisionOf = (stream: string) => log.filter((r) => r.streamId === stream).length - 1;

  function write(streamId: string, type: string, data: unknown, metadata: unknown, id: string): Rec {
    const position = { commit: next, prepare: next };
    next += 97n + BigInt(type.length); // records have sizes: positions are not dense
    const rec: Rec = {
      streamId,
      id,
      type,
      revision: BigInt(revisionOf(streamId) + 1),
      position,
      data,
      metadata,
      isJson: true,
      created: new Date(),
    };
    log.push(rec);
    for (const sub of live) sub.stream.push(item(rec));
    return rec;
  }

  const fake: FakeEsdb = {
    idempotentWithoutPosition: false,
    subscriptionsOpened: 0,
    systemEvent: () => void write("$stats-127.0.0.1:2113", "$statsCollected", {}, {}, crypto.randomUUID()),
    dropSubscriptions(error) {
      for (const sub of [...live]) sub.stream.destroy(error);
      live.clear();
    },
    client: {
      async appendToStream(streamName: string, events: EventData | EventData[], options?: { expectedRevision?: AppendExpectedRevision }) {
        const batch = Array.isArray(events) ? events : [events];
        const cur = revisionOf(streamName);
        const exp = options?.expectedRevision === NO_STREAM ? -1 : Number(options?.expectedRevision);
        const current = cur < 0 ? NO_STREAM : BigInt(cur);
        const conflict = () =>
          new WrongExpectedVersionError(undefined, { streamName, expected: options?.expectedRevision ?? "any", current });
        if (exp > cur) throw conflict();
        if (exp < cur) {
          const stored = log.filter((r) => r.streamId === streamName).slice(exp + 1, exp + 1 + batch.length);
          if (stored.length !== batch.length || stored.some((r, i) => r.id !== batch[i]!.id)) throw conflict();
          const last = stored.at(-1)!;
          return {
            success: true,
            nextExpectedRevision: last.revision,
            position: fake.idempotentWithoutPosition ? undefined : last.position,
          };
        }
        const written = batch.map((e) => write(streamName, e.type, e.data, e.metadata, e.id));
        const last = written.at(-1)!;
        return {
          success: true,
          nextExpectedRevision: last.revision,
          position: { commit: last.position.commit, prepare: written[0]!.position.prepare },
        };
      },

      readStream(
        streamName: string,
        options?: { fromRevision?: bigint | typeof START | typeof END; direction?: string; maxCount?: number | bigint },
      ) {
        const recs = log.filter((r) => r.streamId === streamName);
        if (recs.length === 0) return readable([], new StreamNotFoundError(undefined, streamName));
        const max = Number(options?.maxCount ?? Number.MAX_SAFE_INTEGER);
        if (options?.direction === "backwards") return readable(recs.reverse().slice(0, max).map(item));
        const from = typeof options?.fromRevision === "bigint" ? Number(options.fromRevision) : 0;
        return readable(recs.slice(from, from + max).map(item));
      },

      readAll(options?: { fromPosition?: ReadPosition; direction?: string; maxCount?: number | bigint }) {
        const max = Number(options?.maxCount ?? Number.MAX_SAFE_INTEGER);
        const from = options?.fromPosition ?? (options?.direction === "backwards" ? END : START);
        if (options?.direction === "backwards") {
          const before = from === END ? log : log.filter((r) => typeof from === "object" && comparePositions(r.position, from) < 0);
          return readable([...before].reverse().slice(0, max).map(item));
        }
        const after = from === START ? log : log.filter((r) => typeof from === "object" && comparePositions(r.position, from) >= 0);
        return readable(after.slice(0, max).map(item));
      },

      subscribeToAll(options?: { fromPosition?: ReadPosition; filter?: unknown }) {
        fake.subscriptionsOpened++;
        const after = typeof options?.fromPosition === "object" ? options.fromPosition : undefined;
        const entry = { after, stream: new Readable({ objectMode: true, read() {} }) };
        const stream = Object.assign(entry.stream, {
          unsubscribe: async () => {
            live.delete(entry);
            stream.push(null);
          },
        });
        for (const r of log) if (!after || comparePositions(r.position, after) > 0) stream.push(item(r));
        live.add(entry);
        return stream;
      },

      async dispose() {
        fake.dropSubscriptions(new Error("disposed"));
      },
    } as unknown as EsdbClient,
  };
  return fake;
}

/** a finished read: its items, then optionally an error raised while iterating (as the SDK does) */
function readable(items: Item[], error?: Error): Readable {
  const stream = Readable.from(
    (async function* () {
      yield* items;
      if (error) throw error;
    })(),
  );
  return Object.assign(stream, { cancel: async () => void stream.destroy() });
}
