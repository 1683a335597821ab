import { describe, expect, it } from "vitest";
import { holdProjection } from "./holds.ts";
import type { EventOf } from "./projection.ts";

const meta = (position: number) => ({
  eventId: `e${position}`,
  occurredAt: "2026-01-01T00:00:00.000Z",
  actor: { type: "system" as const, id: "t" },
  correlationId: "c",
  causationId: "c",
  schemaVersion: 1 as const,
});
const recorded = (position: number, type: "usage_reserved" | "usage_released", data: Record<string, unknown>) =>
  ({ type, data, metadata: meta(position), streamName: "account-u1", revision: position, position }) as EventOf<typeof type>;

describe("holds projection", () => {
  it("one document per reservation: open, then closed with the release reason", () => {
    const reserved = recorded(1, "usage_reserved", {
      userId: "u1",
      reservationId: "r1",
      requestId: "q1",
      amount: 50,
      expiresAt: "2026-01-01T00:10:00.000Z",
      apiKeyId: "k1",
    });
    const released = recorded(2, "usage_released", { userId: "u1", reservationId: "r1", requestId: "q1", amount: 50, reason: "expired" });
    const [id] = holdProjection.ids(reserved);
    expect(id).toBe("u1|r1");
    expect(holdProjection.ids(released)).toEqual([id]);
    const open = holdProjection.evolve(null, reserved, id!);
    expect(open).toMatchObject({ _position: 1, status: "open", amount: 50, apiKeyId: "k1", expiresAt: "2026-01-01T00:10:00.000Z" });
    expect(holdProjection.evolve(open, released, id!)).toMatchObject({
      _position: 2,
      status: "expired",
      amount: 50,
      expiresAt: "2026-01-01T00:10:00.000Z",
    });
  });
});
