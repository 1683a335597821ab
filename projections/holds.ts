import type { UsageReleased, UsageReserved } from "../domain/events.ts";
import type { Doc, ReadStore } from "./read-store.ts";
import { stamp, type Projection } from "./projection.ts";

/** One gateway hold: open until its usage_released (settled, failed, cancelled or expired). */
export type HoldDoc = Doc & UsageReserved["data"] & { status: "open" | UsageReleased["data"]["reason"] };

// Feeds the expired-hold sweeper (application/gateway/hold-sweeper.ts) and the completeness check
// "every request id ↔ exactly one settlement": an open hold past its expiry is a request that
// never settled. A release seen before its reservation (not possible in one stream) is ignored.
export const holdProjection: Projection<HoldDoc, "usage_reserved" | "usage_released"> = {
  name: "holds",
  collection: "holds",
  handles: ["usage_reserved", "usage_released"],
  ids: (event) => [`${event.data.userId}|${event.data.reservationId}`],
  evolve(doc, event, id) {
    switch (event.type) {
      case "usage_reserved": {
        const { userId, reservationId, requestId, amount, expiresAt, apiKeyId } = event.data;
        return {
          ...stamp(id, event),
          userId,
          reservationId,
          requestId,
          amount,
          expiresAt,
          ...(apiKeyId ? { apiKeyId } : {}),
          status: "open",
        };
      }
      case "usage_released": {
        const { userId, reservationId, requestId, amount, reason } = event.data;
        const base = doc ?? { userId, reservationId, requestId, amount, expiresAt: event.metadata.occurredAt };
        return { ...base, ...stamp(id, event), status: reason };
      }
    }
  },
  indexes: [["status", "expiresAt"]],
};

export const holds = (reads: ReadStore) => reads.collection<HoldDoc>(holdProjection.collection);

/** open holds whose expiry is before `now`, the oldest first */
export const expiredOpenHolds = (reads: ReadStore, now: string, limit: number) =>
  holds(reads).find({ status: "open", expiresAt: { lt: now } }, { sort: { expiresAt: 1 }, limit });
