import type { Position } from "@eventstore/db-client";
import type { EventMetadata } from "../../domain/events.ts";

// Pure helpers of the EventStoreDB adapter (no I/O), unit-tested without a server.
//
// Positions: EventStoreDB addresses $all with {commit, prepare} byte offsets in its transaction
// log. Every append since the implicit-transaction writer (all gRPC-era servers) writes each event
// as its own committed prepare record, so an event read from $all has commit === prepare, unique
// and strictly increasing per event. Only legacy explicit transactions (TCP client 5.x) share one
// commit position among several events; the port exposes the commit position alone, so such events
// would collapse onto one port position. We never write them.
//
// The port's positions are JS numbers: exact up to 2^53 - 1 bytes of log (8 PiB). Past that the
// conversion throws rather than silently rounding (rounding would break "strictly increasing").

/** stream reads on servers before 22.6 report positions as ulong -1 */
const NO_POSITION = 2n ** 64n - 1n;

/** the port position, or undefined when the server reported none (absent, -1 or ulong -1) */
export function knownPosition(position: Position | undefined): number | undefined {
  if (!position || position.commit === NO_POSITION || position.commit < 0n) return undefined;
  return toPortPosition(position);
}

export function toPortPosition(position: Position | undefined): number {
  if (!position || position.commit === NO_POSITION || position.commit < 0n) {
    throw new Error("EventStoreDB returned an event without a log position (server 22.6+ required)");
  }
  if (position.commit > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new Error(`EventStoreDB position ${position.commit} exceeds 2^53 - 1; the port cannot represent it`);
  }
  return Number(position.commit);
}

/**
 * A port position as an EventStoreDB read position. Exact for events written by this adapter
 * (commit === prepare). Reads from it are inclusive, subscriptions exclusive: callers also skip
 * anything at or before it with `isAfter`.
 */
export function fromPortPosition(position: number): Position {
  if (!Number.isSafeInteger(position) || position < 0) throw new RangeError(`invalid position ${position}`);
  const p = BigInt(position);
  return { commit: p, prepare: p };
}

/** lexicographic order over (commit, prepare), the order of $all */
export function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

export const isAfter = (a: Position, b: Position): boolean => comparePositions(a, b) > 0;

/** 0-based revision as a number; revisions past 2^53 cannot occur in practice but fail loudly */
export function toPortRevision(revision: bigint): number {
  if (revision > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`revision ${revision} exceeds 2^53 - 1`);
  return Number(revision);
}

/** resubscribe delay: 250 ms doubling per failed attempt, capped at 30 s, with ±20 % jitter */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 250 * 2 ** Math.max(0, Math.min(attempt, 20)));
  return Math.min(30_000, Math.round(base * (0.8 + 0.4 * random())));
}

/**
 * Our EventMetadata is stored as the event's metadata JSON, plus the reserved `$correlationId`
 * and `$causationId` keys that feed the server's `$bc-`/`$by_correlation_id` projections.
 */
export function toEsdbMetadata(metadata: EventMetadata): Record<string, unknown> {
  return { ...metadata, $correlationId: metadata.correlationId, $causationId: metadata.causationId };
}

/** inverse of toEsdbMetadata: drops the reserved `$` keys so the round trip is exact */
export function fromEsdbMetadata(raw: unknown): EventMetadata {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw) || raw instanceof Uint8Array) {
    throw new Error("EventStoreDB event has no JSON metadata object");
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (!k.startsWith("$")) out[k] = v;
  return out as unknown as EventMetadata;
}
