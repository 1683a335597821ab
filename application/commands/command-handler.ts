import { randomUUID } from "node:crypto";
import type { Decider, FoldableEvent } from "../../domain/decider.ts";
import { ConcurrencyError, type EventStore, type ExpectedRevision } from "../../domain/event-store.ts";
import type { Actor, NewEvent } from "../../domain/events.ts";
import { chain } from "../../domain/hash-chain.ts";
import { eventIdFor } from "../../domain/ids.ts";
import { BoundedCache } from "../bounded-cache.ts";

export interface CommandContext {
  actor: Actor;
  correlationId: string;
  causationId?: string;
  /** scope + Idempotency-Key: makes event ids deterministic, so a retry is stopped at the stream */
  idempotencyScope?: string;
  idempotencyKey?: string;
  /** W3C trace context of the command (recorded in the events' metadata) */
  traceparent?: string;
  now: string;
  /**
   * Called when the decider accepted the command, before its events are durable (again if a conflict
   * made it decide anew). Work that may start early — the gateway's upstream call — starts here; the
   * command's outcome is still what `handle` resolves or rejects with.
   */
  decided?: () => void;
}

export interface CommandResult {
  /** this command's events, as appended */
  events: NewEvent[];
  /** global position of the append that carried them (>= their own positions) */
  position: number;
}

/** The handler evolves the states it caches in place: it owns them. Events carry metadata once appended. */
type StreamDecider = Decider<unknown, FoldableEvent, unknown>;

/** Commands of one kind of stream, bound once: `accounts.handle(userId, command, ctx)`. */
export interface StreamCommands<Id, C> {
  /** Runs the command with the others waiting on the same stream; resolves once its events are durable. */
  handle(id: Id, command: C, ctx: CommandContext): Promise<CommandResult>;
}

interface Pending {
  decider: StreamDecider;
  command: unknown;
  ctx: CommandContext;
  attempts: number;
  resolve(result: CommandResult): void;
  reject(error: unknown): void;
}

interface Cached {
  state: unknown;
  revision: ExpectedRevision;
  /** estimated retained bytes */
  bytes: number;
}

const MAX_ATTEMPTS = 5;

/** RFC 9562 UUIDv7: time-ordered, so new rows land at the end of the event-id index, not at random */
export function uuidV7(ms = Date.now()): string {
  const random = randomUUID(); // Node's pooled entropy: cheaper than randomBytes per id
  const time = ms.toString(16).padStart(12, "0");
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(15, 18)}-${random.slice(19)}`;
}
const MAX_BATCH = 256;
/** a folded state's estimated size when its decider does not tell: it may grow with every event folded */
const sizeOf = (decider: StreamDecider, state: unknown, revision: ExpectedRevision) =>
  decider.weigh?.(state) ?? 2048 + 128 * (revision === "no_stream" ? 0 : revision + 1);

/**
 * The command path. Per stream, inside this process: commands queue up; the stream's folded state is
 * cached with its revision (latency does not grow with stream length); the commands waiting together
 * are decided one after the other on that state and their events go out in ONE append at the exact
 * revision, so a hot account costs one fsync per batch, not per command. A command its decider
 * refuses is rejected only once the batch it was decided in is durable (the state it saw is then
 * real). A conflict — another instance moved the stream — drops the cache and decides the whole batch
 * again, a bounded number of times; nothing is ever appended blindly.
 */
export function createCommandHandler(store: EventStore, cacheSize = 10_000, cacheBytes = 32 * 2 ** 20) {
  const cache = new BoundedCache<string, Cached>({ maxEntries: cacheSize, maxBytes: cacheBytes }, (c) => c.bytes);
  const queues = new Map<string, Pending[]>();
  /** a state may forget old ids only when the store can look them up (see EventStore.usedIds) */
  const lookUp = store.usedIds?.bind(store);

  function keep(stream: string, decider: StreamDecider, state: unknown, revision: ExpectedRevision): Cached {
    if (lookUp) decider.usedIds?.forget(state);
    const cached = { state, revision, bytes: sizeOf(decider, state, revision) };
    cache.set(stream, cached);
    return cached;
  }

  /** the ids the batch would record that the state forgot, to look up in the store before deciding ([] mostly: no await) */
  function idsToLookUp(batch: Pending[], state: unknown): string[] {
    const ids = batch[0]!.decider.usedIds;
    return lookUp && ids ? batch.flatMap((p) => ids.toLookUp(p.command, state)) : [];
  }

  async function load(stream: string, decider: StreamDecider): Promise<Cached> {
    const hit = cache.get(stream);
    if (hit) return hit;
    let state = decider.initialState(stream);
    let revision: ExpectedRevision = "no_stream";
    for (const event of await store.readStream(stream)) {
      state = decider.evolve(state, event);
      revision = event.revision;
    }
    return keep(stream, decider, state, revision);
  }

  function withMetadata(stream: string, decided: FoldableEvent[], ctx: CommandContext): NewEvent[] {
    return decided.map((event, index) => ({
      ...event,
      metadata: {
        eventId: ctx.idempotencyScope ? eventIdFor(ctx.idempotencyScope, stream, index) : uuidV7(),
        occurredAt: ctx.now,
        actor: ctx.actor,
        correlationId: ctx.correlationId,
        causationId: ctx.causationId ?? ctx.correlationId,
        ...(ctx.idempotencyKey ? { idempotencyKey: ctx.idempotencyKey } : {}),
        ...(ctx.traceparent ? { traceparent: ctx.traceparent } : {}),
        schemaVersion: 1,
      },
    })) as NewEvent[];
  }

  /** decides and appends one batch; returns the commands to run again after a conflict */
  async function runBatch(stream: string, batch: Pending[]): Promise<Pending[]> {
    const current = await load(stream, batch[0]!.decider);
    const forgotten = idsToLookUp(batch, current.state);
    if (forgotten.length > 0) batch[0]!.decider.usedIds!.recall(current.state, await lookUp!(stream, forgotten));
    let state = current.state;
    const outcomes: { pending: Pending; events?: NewEvent[]; error?: unknown }[] = [];
    const all: NewEvent[] = [];
    for (const pending of batch) {
      const { decider } = pending;
      try {
        const decided = withMetadata(stream, decider.decide(pending.command, state), pending.ctx);
        const events = decider.lastHash ? chain(decider.lastHash(state), decided) : decided;
        for (const event of events) state = decider.evolve(state, event);
        all.push(...events);
        outcomes.push({ pending, events });
      } catch (error) {
        outcomes.push({ pending, error });
      }
    }
    for (const { pending, events } of outcomes) if (events) pending.ctx.decided?.();
    let position: number;
    if (all.length === 0) {
      position = await store.headPosition();
    } else {
      try {
        const result = await store.append(stream, all, current.revision);
        keep(stream, batch[0]!.decider, state, result.nextExpectedRevision);
        position = result.position;
      } catch (error) {
        cache.delete(stream); // the cached state was evolved in place: it is no longer the stream's
        if (!(error instanceof ConcurrencyError)) {
          for (const { pending } of outcomes) pending.reject(error);
          return [];
        }
        const again = batch.filter((p) => ++p.attempts < MAX_ATTEMPTS);
        for (const p of batch) if (p.attempts >= MAX_ATTEMPTS) p.reject(error);
        return again;
      }
    }
    for (const { pending, events, error } of outcomes) {
      if (events) pending.resolve({ events, position });
      else pending.reject(error);
    }
    return [];
  }

  async function drain(stream: string, queue: Pending[]) {
    while (queue.length > 0) {
      const batch = queue.splice(0, MAX_BATCH);
      try {
        queue.unshift(...(await runBatch(stream, batch)));
      } catch (error) {
        // loading the stream failed: nothing was appended
        cache.delete(stream);
        for (const p of batch) p.reject(error);
      }
    }
    queues.delete(stream);
  }

  function handle(stream: string, decider: StreamDecider, command: unknown, ctx: CommandContext): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      const pending: Pending = { decider, command, ctx, attempts: 0, resolve, reject };
      const queue = queues.get(stream);
      if (queue) return void queue.push(pending);
      const fresh = [pending];
      queues.set(stream, fresh);
      // start once the current task's synchronous work is done, so that commands issued together
      // share the batch; commands arriving later queue behind the append in flight and go in the
      // next batch (a loop turn of waiting here only delayed the commit)
      queueMicrotask(() => void drain(stream, fresh));
    });
  }

  return {
    /** Binds a decider to its streams once: `commands.for(accountDecider, accountStream)`. */
    for<C, S, Id>(decider: Decider<C, FoldableEvent, S>, streamOf: (id: Id) => string): StreamCommands<Id, C> {
      const bound = decider as StreamDecider;
      return { handle: (id, command, ctx) => handle(streamOf(id), bound, command, ctx) };
    },
  };
}

export type CommandHandler = ReturnType<typeof createCommandHandler>;
