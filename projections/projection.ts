import type { EventType, RecordedEvent } from "../domain/events.ts";
import type { Doc } from "./read-store.ts";

/**
 * A read-model definition: pure, storage-agnostic. The projector runtime (apps/projector) loads the
 * documents named by `ids`, applies `evolve` to those whose `_position` is older than the event, and
 * writes them back with position guards, so a replayed event changes nothing twice.
 */
export interface Projection<D extends Doc = Doc> {
  name: string;
  collection: string;
  handles: readonly EventType[];
  /** ids of the documents this event touches */
  ids(event: RecordedEvent): string[];
  /** the document after the event; `doc` is null when it does not exist yet */
  evolve(doc: D | null, event: RecordedEvent, id: string): D;
  /** secondary indexes the queries need */
  indexes?: string[][];
}

/** Helper for evolve: the base fields of a document applied at this event. */
export const stamp = (id: string, event: RecordedEvent) => ({ _id: id, _position: event.position });

export const hourOf = (iso: string) => `${iso.slice(0, 13)}:00:00.000Z`;
export const dayOf = (iso: string) => iso.slice(0, 10);
