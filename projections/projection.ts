import type { DomainEvent, EventType, RecordedEvent } from "../domain/events.ts";
import type { Doc } from "./read-store.ts";

type EventByType = { [E in DomainEvent as E["type"]]: E };

/** A recorded event of one of the types `T`. */
export type EventOf<T extends EventType> = RecordedEvent<EventByType[T]>;

/**
 * A read-model definition: pure, storage-agnostic. The projector (projections/projector.ts) loads the
 * documents named by `ids`, applies `evolve` to those whose `_position` is older than the event, and
 * writes them back with position guards, so a replayed event changes nothing twice. `handles` names
 * the event types it reads; `ids` and `evolve` only ever see those (canHandle), narrowed: no casts.
 */
export interface Projection<D extends Doc = Doc, T extends EventType = EventType> {
  name: string;
  /** its read model; only the projection's own module names it (and exports its reads) */
  collection: string;
  handles: readonly T[];
  /** ids of the documents this event touches */
  ids(event: EventOf<T>): string[];
  /** the document after the event; `doc` is null when it does not exist yet */
  evolve(doc: D | null, event: EventOf<T>, id: string): D;
  /** secondary indexes the queries need */
  indexes?: string[][];
}

/** true when the projection reads this event, which is then one of the types it handles */
export function canHandle<T extends EventType>(projection: Projection<Doc, T>, event: RecordedEvent): event is RecordedEvent & EventOf<T> {
  return (projection.handles as readonly EventType[]).includes(event.type);
}

/** Helper for evolve: the base fields of a document applied at this event. */
export const stamp = (id: string, event: RecordedEvent) => ({ _id: id, _position: event.position });

export const hourOf = (iso: string) => `${iso.slice(0, 13)}:00:00.000Z`;
export const dayOf = (iso: string) => iso.slice(0, 10);
