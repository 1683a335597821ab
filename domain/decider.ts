import type { DomainEvent, EventMetadata } from "./events.ts";

// A decider is three plain functions (emmett style): decide(command, state) → events,
// evolve(state, event) → state, initialState(stream) → state.

/** A command: what was asked, with the time it is decided at (the domain never reads a clock). */
export interface Command<T extends string, D> {
  type: T;
  data: D;
  /** ISO-8601 instant the command is decided at */
  now: string;
}

export interface Decider<C, E, S> {
  /**
   * Pure: never mutates `state`; throws a DomainError to refuse. Checks state and business rules only:
   * the input was checked at the edge (zod). Returns events without metadata.
   */
  decide(command: C, state: S): E[];
  /** May mutate `state` in place and return it: evolve takes ownership of the state it is given. */
  evolve(state: S, event: E): S;
  /** state of a stream that has no events yet, from its stream name */
  initialState(stream: string): S;
  /** streams whose events are hash-chained (accounts): the hash of the last one, to chain the next append onto */
  lastHash?(state: S): string;
  /** a state's estimated retained size in bytes, for the command handler's bounded cache */
  weigh?(state: S): number;
  /**
   * Streams whose commands must not reuse ids (accounts), where the state may keep only recent ids
   * when the event store can look the others up (EventStore.usedIds):
   */
  usedIds?: {
    /** keys of the ids `command` would record that `state` cannot vouch for ([] while it forgot none) */
    toLookUp(command: C, state: S): string[];
    /** records keys the store found used */
    recall(state: S, keys: Iterable<string>): void;
    /** drops all but recent ids */
    forget(state: S): void;
  };
}

/** What a stream decider folds: an event as decided (no metadata), appended, or read back. */
export type FoldableEvent = DomainEvent & { metadata?: EventMetadata };

export function fold<C, E, S>(decider: Decider<C, E, S>, stream: string, events: Iterable<E>): S {
  let state = decider.initialState(stream);
  for (const event of events) state = decider.evolve(state, event);
  return state;
}

/** The entity id in a stream name such as `account-u1` (prefix `account-`). */
export function streamId(stream: string, prefix: string): string {
  if (!stream.startsWith(prefix) || stream.length === prefix.length) {
    throw new TypeError(`stream ${JSON.stringify(stream)} is not a ${prefix}… stream`);
  }
  return stream.slice(prefix.length);
}
