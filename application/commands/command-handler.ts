import { randomUUID } from "node:crypto";
import type { Decider, FoldableEvent } from "../../domain/decider.ts";
import { ConcurrencyError, type AppendResult, type EventStore, type ExpectedRevision } from "../../domain/event-store.ts";
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
  /**
   * How long this command's events may wait, once decided, for the stream's next command, so both go
   * in one append (one commit): for a command whose outcome nobody needs before that next one (the
   * gateway's hold on a plain request, settled by the same request). 0 or absent: appended at once.
   */
  lingerMs?: number;
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

/** the state a stream will have once every append posted on it is durable */
interface Tip {
  state: unknown;
  revision: ExpectedRevision;
  /** the id of the stream's event at `revision`, when an append in flight leaves it: the next append names it */
  lastEventId?: string;
  /** the lane's generation it was decided in: a failure drops the tip only when it is of the same one */
  generation: number;
}

/** Per stream, while it has commands: those waiting to be decided, and the batches decided and not settled yet. */
interface Lane {
  stream: string;
  queue: Pending[];
  /** a drain is deciding this lane's queue */
  running: boolean;
  /** the state after the appends in flight; none: the cache's (or the store's) is current */
  tip?: Tip;
  /** batches decided and not settled yet */
  unsettled: number;
  /** a batch decided and not appended yet, waiting to share the next batch's append */
  deferred?: Deferred;
  /** commands at the head of the queue put back by decideAgain, in the order their batches failed */
  requeued: number;
  /** batches decided in a row on a tip in flight: past MAX_CHAIN the next waits for them (the state then forgets old ids) */
  chained: number;
  /** bumped when a failed append drops the tip: the batches chained behind it fail too and drop nothing */
  generation: number;
  /** settles when the batch decided last settled: null when its events (or the state it was decided on) are durable, else why not */
  last: Promise<unknown>;
}

interface Decided {
  pending: Pending;
  events?: NewEvent[];
  error?: unknown;
}

/** a batch decided, with the events it appends */
interface Part {
  batch: Pending[];
  decided: Decided[];
  events: NewEvent[];
}

/** a batch whose append waits (CommandContext.lingerMs) to share the stream's next one */
interface Deferred extends Part {
  base: Tip;
  tip: Tip;
  timer: NodeJS.Timeout;
}

const MAX_ATTEMPTS = 5;

/** RFC 9562 UUIDv7: time-ordered, so new rows land at the end of the event-id index, not at random */
export function uuidV7(ms = Date.now()): string {
  const random = randomUUID(); // Node's pooled entropy: cheaper than randomBytes per id
  const time = ms.toString(16).padStart(12, "0");
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(15, 18)}-${random.slice(19)}`;
}
const MAX_BATCH = 256;
/** batches chained on appends in flight before the lane waits for them (see Lane.chained) */
const MAX_CHAIN = 8;
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
  const lanes = new Map<string, Lane>();
  /** the store applies appends in the order they were called and checks `lastEventId`: a batch may be appended behind one in flight */
  const chains = store.chainsAppends === true;
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

  /**
   * Decides one batch on the lane's tip, or on the stream as cached or stored, and appends its events:
   * behind the appends in flight when the store chains them (else drain waited for them). Each command
   * is answered in `settle`, batch after batch in the order they were decided.
   */
  async function decideBatch(lane: Lane, batch: Pending[]): Promise<void> {
    const { stream } = lane;
    const onTip = lane.tip !== undefined;
    let base = lane.tip;
    if (base === undefined) {
      const { state, revision } = await load(stream, batch[0]!.decider);
      base = { state, revision, generation: lane.generation };
    }
    const forgotten = idsToLookUp(batch, base.state);
    if (forgotten.length > 0) batch[0]!.decider.usedIds!.recall(base.state, await lookUp!(stream, forgotten));
    let state = base.state;
    const decided: Decided[] = [];
    const all: NewEvent[] = [];
    for (const pending of batch) {
      const { decider } = pending;
      try {
        const events = withMetadata(stream, decider.decide(pending.command, state), pending.ctx);
        const chained = decider.lastHash ? chain(decider.lastHash(state), events) : events;
        for (const event of chained) state = decider.evolve(state, event);
        all.push(...chained);
        decided.push({ pending, events: chained });
      } catch (error) {
        decided.push({ pending, error });
      }
    }
    for (const { pending, events } of decided) if (events) pending.ctx.decided?.();
    lane.chained = onTip ? lane.chained + 1 : 0;
    lane.unsettled++;
    const deferred = lane.deferred;
    if (deferred) {
      clearTimeout(deferred.timer);
      lane.deferred = undefined;
    }
    if (all.length === 0) {
      if (deferred) appendParts(lane, [deferred], deferred.base, deferred.tip); // refusals wait for the state they saw to be durable
      lane.last = settle(lane, batch, decided, lane.last, onTip ? "on a tip" : null);
      return;
    }
    const tip: Tip = {
      state,
      revision: (base.revision === "no_stream" ? -1 : base.revision) + all.length,
      lastEventId: all.at(-1)!.metadata.eventId,
      generation: base.generation,
    };
    lane.tip = tip;
    const part: Part = { batch, decided, events: all };
    if (deferred) return appendParts(lane, [deferred, part], deferred.base, tip);
    const lingerMs = Math.min(...decided.map((d) => (d.events ? (d.pending.ctx.lingerMs ?? 0) : Infinity)));
    if (lingerMs > 0) {
      // nothing waits on these events but their own commands: the stream's next command may share their append
      const timer = setTimeout(() => {
        if (lane.deferred?.timer !== timer) return;
        lane.deferred = undefined;
        appendParts(lane, [part], base, tip);
      }, lingerMs);
      lane.deferred = { ...part, base, tip, timer };
      return;
    }
    appendParts(lane, [part], base, tip);
  }

  /** One append of these batches' events, in order, at `base` (behind it when it is a tip in flight); each batch is answered once it is durable. */
  function appendParts(lane: Lane, parts: Part[], base: Tip, tip: Tip) {
    const events = parts.length === 1 ? parts[0]!.events : parts.flatMap((p) => p.events);
    // settled at once (an outcome, not a rejection): it is read only once the batches before it settled
    const appended = store.append(lane.stream, events, base.revision, base.lastEventId).then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
    for (const { batch, decided } of parts) lane.last = settle(lane, batch, decided, lane.last, { appended, tip });
  }

  /** Answers one batch's commands once the batches before it are settled; null when its events (or, with none, the state it was decided on) are durable. */
  async function settle(
    lane: Lane,
    batch: Pending[],
    decided: Decided[],
    previous: Promise<unknown>,
    /** the batch's append; with nothing to append, whether it was decided on a tip in flight (else on a durable state) */
    append: { appended: Promise<{ result: AppendResult } | { error: unknown }>; tip: Tip } | "on a tip" | null,
  ): Promise<unknown> {
    const failedBefore = await previous;
    try {
      if (append === null || append === "on a tip") {
        // decided on a tip that never became durable: decide again
        if (append === "on a tip" && failedBefore !== null) return decideAgain(lane, batch, failedBefore);
        const position = await store.headPosition();
        for (const { pending, events, error } of decided) {
          if (events) pending.resolve({ events, position });
          else pending.reject(error);
        }
        return null;
      }
      const appended = await append.appended;
      if ("result" in appended) {
        if (lane.tip === append.tip) {
          keep(lane.stream, batch[0]!.decider, append.tip.state, appended.result.nextExpectedRevision);
          lane.tip = undefined; // durable, and cached: the next batch starts from the cache
        }
        for (const { pending, events, error } of decided) {
          if (events) pending.resolve({ events, position: appended.result.position });
          else pending.reject(error);
        }
        return null;
      }
      if (append.tip.generation === lane.generation) {
        // the tip, and the cached state evolved in place, hold this batch's effects: start again from the store
        lane.generation++;
        lane.tip = undefined;
        cache.delete(lane.stream);
      }
      if (appended.error instanceof ConcurrencyError) return decideAgain(lane, batch, appended.error);
      for (const p of batch) p.reject(appended.error);
      return appended.error;
    } catch (error) {
      for (const p of batch) p.reject(error); // the head position could not be read
      return error;
    } finally {
      lane.unsettled--;
      dropIfIdle(lane);
    }
  }

  /** a batch whose append conflicted, or that was decided behind one that failed: decided again, a bounded number of times */
  function decideAgain(lane: Lane, batch: Pending[], why: unknown): unknown {
    const retry = batch.filter((p) => ++p.attempts < MAX_ATTEMPTS);
    for (const p of batch) if (p.attempts >= MAX_ATTEMPTS) p.reject(why);
    lane.queue.splice(lane.requeued, 0, ...retry); // after those of batches that failed before, before newer commands
    lane.requeued += retry.length;
    if (retry.length > 0) run(lane);
    return why;
  }

  /** decides the lane's queue batch after batch; one append at a time unless the store chains them */
  async function drain(lane: Lane) {
    while (lane.queue.length > 0) {
      if (lane.tip !== undefined && (!chains || lane.chained >= MAX_CHAIN)) await lane.last;
      const batch = lane.queue.splice(0, MAX_BATCH);
      lane.requeued = Math.max(0, lane.requeued - batch.length);
      try {
        await decideBatch(lane, batch);
      } catch (error) {
        // loading the stream failed: nothing was appended
        cache.delete(lane.stream);
        for (const p of batch) p.reject(error);
      }
    }
    lane.running = false;
    dropIfIdle(lane);
  }

  function run(lane: Lane) {
    if (lane.running) return;
    lane.running = true;
    // start once the current task's synchronous work is done, so that commands issued together share
    // the batch; commands arriving while an append is in flight go in the next batch, decided on the
    // state that append leaves (appended behind it when the store chains appends, else once it is durable)
    queueMicrotask(() => void drain(lane));
  }

  function dropIfIdle(lane: Lane) {
    if (!lane.running && lane.unsettled === 0 && lane.queue.length === 0 && lanes.get(lane.stream) === lane) lanes.delete(lane.stream);
  }

  function handle(stream: string, decider: StreamDecider, command: unknown, ctx: CommandContext): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      let lane = lanes.get(stream);
      if (!lane) {
        lane = { stream, queue: [], running: false, unsettled: 0, requeued: 0, chained: 0, generation: 0, last: Promise.resolve(null) };
        lanes.set(stream, lane);
      }
      lane.queue.push({ decider, command, ctx, attempts: 0, resolve, reject });
      run(lane);
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
