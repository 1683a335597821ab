import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sseData, sseEvent, SseSplitter } from "./sse.ts";

describe("SseSplitter", () => {
  it("yields whole events, byte for byte, however the bytes are chunked", () => {
    const stream = Buffer.from('data: {"a":"é"}\n\n: keep-alive\n\ndata: [DONE]\n\n');
    for (let size = 1; size <= stream.length; size++) {
      const splitter = new SseSplitter();
      const events: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) events.push(...splitter.push(stream.subarray(i, i + size)));
      expect(Buffer.concat(events).equals(stream)).toBe(true);
      expect(events.map((e) => sseData(e))).toEqual(['{"a":"é"}', null, "[DONE]"]);
      expect(splitter.rest().length).toBe(0);
    }
  });

  it("accepts CRLF framing, joins multi-line data and keeps an unterminated tail", () => {
    const splitter = new SseSplitter();
    const events = splitter.push(Buffer.from("data:one\r\ndata: two\r\n\r\ndata: cut"));
    expect(events.map((e) => sseData(e))).toEqual(["one\ntwo"]);
    expect(splitter.rest().toString()).toBe("data: cut");
  });

  it("reads the data of any event as the line-by-line reading does (the one-line shortcut included)", () => {
    const lineByLine = (event: Buffer) => {
      const lines = event
        .toString("utf8")
        .split(/\r?\n/)
        .filter((line) => line.startsWith("data:"));
      return lines.length === 0 ? null : lines.map((line) => line.slice(line.charCodeAt(5) === 32 ? 6 : 5)).join("\n");
    };
    const line = fc.oneof(
      fc.string().map((text) => `data:${text}`),
      fc.string().map((text) => `data: ${text}`),
      fc.string().map((text) => `: ${text}`),
      fc.string(),
    );
    const event = fc.tuple(fc.array(line, { minLength: 1, maxLength: 3 }), fc.constantFrom("\n", "\r\n")).map(([lines, eol]) => {
      const text = lines.map((l) => l.replace(/\r?\n/g, " ")).join(eol);
      return Buffer.from(`${text}${eol}${eol}`);
    });
    fc.assert(
      fc.property(event, (e) => {
        expect(sseData(e)).toBe(lineByLine(e));
      }),
      { numRuns: 2000 },
    );
    expect(sseData(Buffer.from("data: a\r\n\n"))).toBe("a");
  });

  it("formats events", () => {
    expect(sseEvent("[DONE]").toString()).toBe("data: [DONE]\n\n");
    expect(sseEvent({ error: { message: "x" } }).toString()).toBe('data: {"error":{"message":"x"}}\n\n');
  });
});
