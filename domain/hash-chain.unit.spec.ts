import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { EventMetadata, NewEvent, RecordedEvent } from "./events.ts";
import { canonicalJson, chain, eventHash, GENESIS_HASH, verifyChain } from "./hash-chain.ts";

const metadata = (n: number): EventMetadata => ({
  eventId: `00000000-0000-4000-8000-00000000000${n}`,
  occurredAt: `2025-01-01T00:00:0${n}.000Z`,
  actor: { type: "admin", id: "admin" },
  correlationId: "c1",
  causationId: "c1",
  schemaVersion: 1,
});

const credit = (n: number, amount: number, balanceAfter: number): NewEvent => ({
  type: "transaction_created",
  data: {
    userId: "u1",
    transactionId: `t${n}`,
    amount,
    type: "credit",
    balanceAfter,
    timestamp: `2025-01-01T00:00:0${n}.000Z`,
    metadata: {},
  },
  metadata: metadata(n),
});

/** what a store gives back: JSON round trip, plus stream coordinates */
const record = (events: NewEvent[]): RecordedEvent[] =>
  events.map((event, revision) => ({ ...JSON.parse(JSON.stringify(event)), streamName: "account-u1", revision, position: 100 + revision }));

/** The test's own canonical JSON (a key-sorting JSON.stringify replacer) and sha-256: not the code under test. */
function oracleHash(prevHash: string, value: unknown): string {
  const text = JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
  return createHash("sha256")
    .update(prevHash + text, "utf8")
    .digest("hex");
}

const chained = () => chain(GENESIS_HASH, [credit(1, 5, 5), credit(2, 7, 12), credit(3, -2, 10)]);

describe("canonicalJson", () => {
  it("sorts keys recursively, drops undefined fields and whitespace", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: true, y: null }], c: "x" }, u: undefined })).toBe(
      '{"a":{"c":"x","d":[1,{"y":null,"z":true}]},"b":1}',
    );
  });

  it("is independent of key insertion order", () => {
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
  });

  it("orders keys by UTF-16 code units, whatever their insertion order: any keys, nested (property)", () => {
    // integer-like keys are left out of the oracle only: JSON.stringify writes them first, in numeric order
    const key = fc.string({ unit: "binary", maxLength: 6 }).filter((k) => !/^(0|[1-9]\d*)$/.test(k) && k !== "__proto__");
    const leaf = fc.oneof(fc.string({ unit: "binary" }), fc.integer(), fc.boolean(), fc.constant(null));
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof(
        { depthSize: "small" },
        leaf,
        fc.array(tie("tree"), { maxLength: 4 }),
        fc.dictionary(key, tie("tree"), { maxKeys: 12 }),
      ),
    }));
    const oracle = (value: unknown) =>
      JSON.stringify(value, (_k, v: unknown) =>
        v !== null && typeof v === "object" && !Array.isArray(v)
          ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
          : v,
      );
    fc.assert(fc.property(tree, (value) => canonicalJson(value) === oracle(value)));
  });

  it("orders integer-like keys as text too (code units), not as JSON.stringify's numeric order", () => {
    expect(canonicalJson({ b: 1, 10: 2, 9: 3, "€": 4, a: 5, A: 6 })).toBe('{"10":2,"9":3,"A":6,"a":5,"b":1,"€":4}');
  });

  it("writes undefined array items as null, as JSON does", () => {
    expect(canonicalJson([undefined, 1])).toBe("[null,1]");
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, 1n, new Map(), () => 1])("refuses %s", (value) => {
    expect(() => canonicalJson({ value })).toThrow(TypeError);
  });

  it("says why it refuses", () => {
    expect(() => canonicalJson(Number.NaN)).toThrow("canonicalJson: non-finite number NaN");
    expect(() => canonicalJson(new Map())).toThrow("canonicalJson: only plain objects are supported");
    expect(() => canonicalJson(undefined)).toThrow("canonicalJson: unsupported undefined");
  });

  it("uses toJSON where an object has one (a Date), and takes null-prototype objects as plain", () => {
    expect(canonicalJson({ at: new Date(0) })).toBe('{"at":"1970-01-01T00:00:00.000Z"}');
    expect(canonicalJson(Object.assign(Object.create(null), { b: 1, a: 2 }))).toBe('{"a":2,"b":1}');
  });
});

describe("chain", () => {
  it("links each event to the hash of the one before, starting at the given hash", () => {
    const events = chained();
    expect(events[0]!.metadata.prevHash).toBe(GENESIS_HASH);
    expect(events[1]!.metadata.prevHash).toBe(events[0]!.metadata.hash);
    expect(events[2]!.metadata.prevHash).toBe(events[1]!.metadata.hash);
    expect(events.every((e) => /^[0-9a-f]{64}$/.test(e.metadata.hash!))).toBe(true);
  });

  it("hashes prevHash + canonical {type, data, metadata without hash}: an independent oracle agrees", () => {
    const events = chained();
    let previous = GENESIS_HASH;
    for (const event of events) {
      const { hash, ...metadata } = event.metadata;
      expect(metadata.prevHash).toBe(previous);
      expect(hash).toBe(oracleHash(previous, { type: event.type, data: event.data, metadata }));
      previous = hash!;
    }
  });

  it("matches a vector computed outside JavaScript (Python json.dumps sort_keys + hashlib.sha256)", () => {
    // python3: c = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    //          hashlib.sha256(("0" * 64 + c).encode()).hexdigest()
    const event = credit(1, 5, 5);
    (event.data as { metadata: unknown }).metadata = { note: "café ✓", z: [1, null] };
    const [hashed] = chain(GENESIS_HASH, [event]);
    expect(hashed!.metadata.hash).toBe("f8532c90b5eb7fc3f36f1fd028f3d2471e4e09debb9bc3374d5102234de24c52");
    expect(eventHash(GENESIS_HASH, hashed!)).toBe(hashed!.metadata.hash);
  });

  it("does not mutate its input and is deterministic", () => {
    const input = [credit(1, 5, 5)];
    const a = chain(GENESIS_HASH, input);
    expect(input[0]!.metadata.hash).toBeUndefined();
    expect(chain(GENESIS_HASH, input)).toEqual(a);
  });

  it("continues a stream from its last hash", () => {
    const all = chained();
    const tail = chain(all[1]!.metadata.hash!, [credit(3, -2, 10)]);
    expect(tail[0]!.metadata.hash).toBe(all[2]!.metadata.hash);
  });
});

describe("verifyChain", () => {
  it("accepts an intact stream read back from a store", () => {
    expect(verifyChain(record(chained()))).toEqual({ ok: true, verified: 3, lastHash: chained()[2]!.metadata.hash });
  });

  it("accepts an empty stream", () => {
    expect(verifyChain([])).toEqual({ ok: true, verified: 0, lastHash: GENESIS_HASH });
  });

  it("verifies a tail from the hash before it", () => {
    const events = record(chained());
    expect(verifyChain(events.slice(1), events[0]!.metadata.hash).ok).toBe(true);
    expect(verifyChain(events.slice(1))).toMatchObject({ ok: false, revision: 1 });
  });

  it("detects tampered data", () => {
    const events = record(chained());
    (events[1]!.data as { amount: number }).amount = 700;
    expect(verifyChain(events)).toEqual({
      ok: false,
      revision: 1,
      eventId: events[1]!.metadata.eventId,
      reason: "hash does not match the event content",
    });
  });

  it("detects tampered metadata", () => {
    const events = record(chained());
    events[2]!.metadata.actor = { type: "system", id: "mallory" };
    expect(verifyChain(events)).toMatchObject({ ok: false, revision: 2 });
  });

  it("detects a removed event", () => {
    const events = record(chained());
    const gap = [events[0]!, events[2]!];
    expect(verifyChain(gap)).toMatchObject({ ok: false, revision: 2, reason: expect.stringMatching(/gap/) });
    expect(verifyChain([events[0]!, { ...events[2]!, revision: 1 }])).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/prevHash/),
    });
  });

  it("detects a missing hash", () => {
    const events = record(chained());
    delete events[0]!.metadata.hash;
    expect(verifyChain(events)).toMatchObject({ ok: false, revision: 0, reason: "event has no hash" });
  });
});
