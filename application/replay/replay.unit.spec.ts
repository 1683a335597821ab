import { describe, expect, it } from "vitest";
import { accountStream, type RecordedEvent } from "../../domain/events.ts";
import { createMemoryEventStore } from "../../infra/memory/event-store.ts";
import { syntheticAccount } from "../../test/fixtures/synthetic.ts";
import { csvLine, formatPage, ndjsonLine } from "./event-format.ts";
import { storeNdjsonChunks } from "./ndjson-replay.ts";
import { eventMatcher, storeEvents } from "./replay.ts";

const START = Date.UTC(2026, 0, 1);
const events = syntheticAccount("u1", 12, START).map(
  (e, i) => ({ ...e, streamName: accountStream("u1"), revision: i, position: i + 1 }) as RecordedEvent,
);

describe("eventMatcher", () => {
  it("filters by position, type, user and a half-open time window", () => {
    const t = (s: number) => new Date(START + s * 1000).toISOString();
    expect(events.filter(eventMatcher({ after: 10 })).map((e) => e.position)).toEqual([11, 12]);
    const usage = events.filter(eventMatcher({ types: ["ai_usage"] }));
    expect(usage.map((e) => e.position)).toEqual(events.filter((e) => e.type === "ai_usage").map((e) => e.position));
    expect(usage.length).toBeGreaterThan(0);
    expect(usage.every((e) => e.type === "ai_usage")).toBe(true);
    expect(events.filter(eventMatcher({ userId: "u2" }))).toEqual([]);
    expect(events.filter(eventMatcher({ userId: "u1" }))).toEqual(events);
    const window = events.filter(eventMatcher({ from: t(1), to: t(2) }));
    expect(window.length).toBeGreaterThan(0);
    expect(window.every((e) => e.metadata.occurredAt >= t(1) && e.metadata.occurredAt < t(2))).toBe(true);
    expect(events.filter(eventMatcher({ from: START + 1000, to: START + 2000 }))).toEqual(window); // epoch ms too
    expect(() => eventMatcher({ from: "yesterday" })).toThrow(RangeError);
  });
});

describe("formats", () => {
  it("CSV quotes commas, quotes and newlines (RFC 4180) and ends rows with CRLF", () => {
    const e = { ...events[0]!, data: { userId: 'a,"b"\nc' } } as unknown as RecordedEvent;
    const line = csvLine(e);
    expect(line.endsWith("\r\n")).toBe(true);
    expect(line).toContain('"a,""b""\nc"');
    expect(line).toContain('"{""userId"":""a,\\""b\\""\\nc""}"');
  });

  it("NDJSON: one JSON object per line", () => {
    const text = formatPage(events.slice(0, 3), "ndjson");
    expect(
      text
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l).position),
    ).toEqual([1, 2, 3]);
  });
});

describe("storeEvents", () => {
  it("pages up to the head captured at the start, and follows new appends until aborted", async () => {
    const store = createMemoryEventStore();
    await store.append(accountStream("u1"), syntheticAccount("u1", 30, START), "no_stream");
    const read = [];
    for await (const e of storeEvents(store, { types: ["transaction_created"] }, { pageSize: 4 })) read.push(e.position);
    expect(read.length).toBeGreaterThan(3);
    expect(read).toEqual([...read].sort((a, b) => a - b));

    const stop = new AbortController();
    const seen: number[] = [];
    const following = (async () => {
      for await (const e of storeEvents(store, { after: 28 }, { follow: true, signal: stop.signal, pageSize: 4 })) {
        seen.push(e.position);
        if (e.position === 35) stop.abort();
      }
    })();
    const more = syntheticAccount("u2", 5, START);
    await store.append(accountStream("u2"), more, "no_stream");
    await following;
    expect(seen).toEqual([29, 30, 31, 32, 33, 34, 35]);
  });
});

describe("storeNdjsonChunks", () => {
  it("without readAllJson (memory, EventStoreDB) formats parsed pages, honouring filters and limit", async () => {
    const store = createMemoryEventStore();
    await store.append(accountStream("u1"), syntheticAccount("u1", 30, START), "no_stream");
    const all = await store.readAll({ maxCount: 100 });
    let text = "";
    let count = 0;
    for await (const c of storeNdjsonChunks(store, { types: ["ai_usage", "transaction_created"], after: 3 }, { pageSize: 7, limit: 9 })) {
      text += c.text;
      count += c.count;
    }
    const expected = all.filter((e) => e.position > 3 && ["ai_usage", "transaction_created"].includes(e.type)).slice(0, 9);
    expect(count).toBe(9);
    expect(text).toBe(expected.map(ndjsonLine).join(""));
  });
});
