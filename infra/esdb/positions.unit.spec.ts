import { describe, expect, it } from "vitest";
import type { EventMetadata } from "../../domain/events.ts";
import {
  backoffDelay,
  comparePositions,
  fromEsdbMetadata,
  fromPortPosition,
  isAfter,
  knownPosition,
  toEsdbMetadata,
  toPortPosition,
  toPortRevision,
} from "./positions.ts";

const pos = (commit: bigint, prepare = commit) => ({ commit, prepare });

describe("EventStoreDB position conversion", () => {
  it("maps the commit position to the port's number and back, exactly up to 2^53 - 1", () => {
    expect(toPortPosition(pos(0n))).toBe(0);
    expect(toPortPosition(pos(1234n, 1200n))).toBe(1234);
    const max = BigInt(Number.MAX_SAFE_INTEGER);
    expect(toPortPosition(pos(max))).toBe(Number.MAX_SAFE_INTEGER);
    expect(fromPortPosition(Number.MAX_SAFE_INTEGER)).toEqual(pos(max));
    expect(fromPortPosition(toPortPosition(pos(987_654_321n)))).toEqual(pos(987_654_321n));
  });

  it("refuses what the port cannot represent instead of rounding", () => {
    expect(() => toPortPosition(pos(BigInt(Number.MAX_SAFE_INTEGER) + 1n))).toThrow(/2\^53/);
    expect(() => toPortPosition(undefined)).toThrow(/without a log position/);
    expect(() => toPortPosition(pos(2n ** 64n - 1n))).toThrow(/without a log position/); // ulong -1
    expect(() => fromPortPosition(-1)).toThrow(RangeError);
    expect(() => fromPortPosition(1.5)).toThrow(RangeError);
    expect(() => toPortRevision(2n ** 60n)).toThrow(/2\^53/);
    expect(toPortRevision(41n)).toBe(41);
  });

  it("treats an absent or -1 append position as unknown", () => {
    expect(knownPosition(undefined)).toBeUndefined();
    expect(knownPosition(pos(-1n))).toBeUndefined();
    expect(knownPosition(pos(2n ** 64n - 1n))).toBeUndefined();
    expect(knownPosition(pos(77n))).toBe(77);
  });

  it("orders positions by commit, then prepare", () => {
    expect(comparePositions(pos(5n), pos(5n))).toBe(0);
    expect(comparePositions(pos(4n, 9n), pos(5n, 1n))).toBe(-1);
    expect(comparePositions(pos(5n, 3n), pos(5n, 2n))).toBe(1);
    expect(isAfter(pos(6n), fromPortPosition(5))).toBe(true);
    expect(isAfter(pos(5n), fromPortPosition(5))).toBe(false); // the inclusive page boundary is skipped
  });
});

describe("resubscribe backoff", () => {
  it("doubles from 250 ms and caps at 30 s, jitter included", () => {
    const mid = () => 0.5; // no jitter
    expect([0, 1, 2, 3, 6, 7, 50].map((a) => backoffDelay(a, mid))).toEqual([250, 500, 1000, 2000, 16_000, 30_000, 30_000]);
    expect(backoffDelay(7, () => 1)).toBe(30_000);
    expect(backoffDelay(0, () => 0)).toBe(200);
    expect(backoffDelay(-3, mid)).toBe(250);
  });
});

describe("metadata round trip", () => {
  const metadata: EventMetadata = {
    eventId: "0b6f3c1e-7a43-4c5e-9d1c-6f2b2f1f9a10",
    occurredAt: "2025-01-02T03:04:05.678Z",
    actor: { type: "admin", id: "ops" },
    correlationId: "corr-1",
    causationId: "cause-1",
    schemaVersion: 1,
  };

  it("adds the reserved $correlationId/$causationId and strips them on read", () => {
    const stored = toEsdbMetadata(metadata);
    expect(stored).toMatchObject({ $correlationId: "corr-1", $causationId: "cause-1" });
    const back = fromEsdbMetadata(JSON.parse(JSON.stringify(stored)));
    expect(back).toStrictEqual(metadata);
  });

  it("rejects events whose metadata is not a JSON object", () => {
    expect(() => fromEsdbMetadata(undefined)).toThrow();
    expect(() => fromEsdbMetadata(new Uint8Array([1]))).toThrow();
    expect(() => fromEsdbMetadata(["x"])).toThrow();
  });
});
