import { randomUUID } from "node:crypto";
import { ConcurrencyError, type EventStore, type ExpectedRevision } from "../../domain/event-store.ts";
import type { Actor, DomainEvent, NewEvent } from "../../domain/events.ts";
import { chain } from "../../domain/hash-chain.ts";
import { eventIdFor } from "../../domain/ids.ts";

/** How one kind of stream is decided: plain functions, as in the domain. */
export interface StreamDecider<S, C> {
  initialState(stream: string): S;
  /** may mutate and return `state`: the handler owns its cached copies; events carry metadata */
  evolve(state: S, event: DomainEvent): S;
  decide(command: C, state: S): DomainEvent[];
  /** account streams chain their events: the hash of the last one */
  lastHash?(state: S): string;
}

export interface CommandContext {
  actor: Actor;
  correlationId: string;
  causationId?: string;
  /** scope + Idempotency-Key: makes event ids deterministic, so a retry is stopped at the stream */
  idempotencyScope?: string;
  idempotencyKey?: string;
  now: string;
}

export interface CommandResult<S> {
  events: NewEvent[];
  state: S;
  position: number;
  revision: number;
}

interface Cached {
  state: unknown;
  revision: ExpectedRevision;
}

const MAX_ATTEMPTS = 5;

/**
 * The command path. Per stream: commands are serialised inside this process, the folded state is cached
 * with its revision (latency does not grow with stream length), and the append is at that exact revision.
 * Another writer moving the stream (another instance) surfaces as ConcurrencyError: the state is reloaded
 * and the command decided again, a bounded number of times, never appended blindly.
 */
export function createCommandHandler(store: EventStore, cacheSize = 10_000) {
  const cache = new Map<string, Cached>();
  const queues = new Map<string, Promise<unknown>>();

  async function load<S>(stream: string, decider: StreamDecider<S, unknown>): Promise<Cached & { state: S }> {
    const hit = cache.get(stream);
    if (hit) {
      cache.delete(stream); // re-insert: Map order doubles as LRU order
      cache.set(stream, hit);
      return hit as Cached & { state: S };
    }
    let state = decider.initialState(stream);
    let revision: ExpectedRevision = "no_stream";
    for (const event of await store.readStream(stream)) {
      state = decider.evolve(state, event);
      revision = event.revision;
    }
    const loaded = { state, revision };
    cache.set(stream, loaded);
    if (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
    return loaded;
  }

  async function execute<S, C>(stream: string, decider: StreamDecider<S, C>, command: C, ctx: CommandContext): Promise<CommandResult<S>> {
    for (let attempt = 1; ; attempt++) {
      const current = await load(stream, decider as StreamDecider<S, unknown>);
      const decided = decider.decide(command, current.state);
      const withMeta: NewEvent[] = decided.map((event, index) => ({
        ...event,
        metadata: {
          eventId: ctx.idempotencyScope ? eventIdFor(ctx.idempotencyScope, stream, index) : randomUUID(),
          occurredAt: ctx.now,
          actor: ctx.actor,
          correlationId: ctx.correlationId,
          causationId: ctx.causationId ?? ctx.correlationId,
          ...(ctx.idempotencyKey ? { idempotencyKey: ctx.idempotencyKey } : {}),
          schemaVersion: 1,
        },
      })) as NewEvent[];
      const events = decider.lastHash ? chain(decider.lastHash(current.state), withMeta) : withMeta;
      if (events.length === 0) {
        const revision = current.revision === "no_stream" ? -1 : current.revision;
        return { events, state: current.state, position: await store.headPosition(), revision };
      }
      try {
        const result = await store.append(stream, events, current.revision);
        let state = current.state;
        for (const event of events) state = decider.evolve(state, event);
        cache.set(stream, { state, revision: result.nextExpectedRevision });
        return { events, state, position: result.position, revision: result.nextExpectedRevision };
      } catch (error) {
        cache.delete(stream);
        if (!(error instanceof ConcurrencyError) || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }

  /** Runs the command after the ones already queued for the same stream. */
  function handle<S, C>(stream: string, decider: StreamDecider<S, C>, command: C, ctx: CommandContext): Promise<CommandResult<S>> {
    const previous = queues.get(stream) ?? Promise.resolve();
    const run = previous.then(
      () => execute(stream, decider, command, ctx),
      () => execute(stream, decider, command, ctx),
    );
    const settled = run.catch(() => undefined);
    queues.set(stream, settled);
    settled.then(() => {
      if (queues.get(stream) === settled) queues.delete(stream);
    });
    return run;
  }

  return { handle, forget: (stream: string) => cache.delete(stream) };
}

export type CommandHandler = ReturnType<typeof createCommandHandler>;
