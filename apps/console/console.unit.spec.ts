import { describe, expect, it } from "vitest";
import { csvCell, reportCsv } from "./src/csv.ts";
import { usd, utcInput } from "./src/format.ts";
import { ndjsonSplitter } from "./src/ndjson.ts";

// The console's pure parts: money shown as text (never through a float), CSV cells, NDJSON framing.

describe("usd", () => {
  it("formats decimal strings exactly: separators, 2 to 6 decimals, sign", () => {
    expect(usd("1234567.5")).toBe("$1,234,567.50");
    expect(usd("0.000150")).toBe("$0.00015");
    expect(usd("-0.75")).toBe("-$0.75");
    expect(usd("9007199254.740993")).toBe("$9,007,199,254.740993"); // beyond a double's precision
    expect(usd("25")).toBe("$25.00");
    expect(usd(null)).toBe("—");
    expect(usd("not money")).toBe("not money");
  });

  it("reads a datetime-local value as UTC", () => {
    expect(utcInput("2026-03-01T10:30")).toBe("2026-03-01T10:30:00.000Z");
    expect(utcInput("2026-03-01T10:30:15")).toBe("2026-03-01T10:30:15.000Z");
  });
});

describe("CSV", () => {
  it("quotes per RFC 4180 and defuses formulas in text cells only", () => {
    expect(csvCell('a,"b"')).toBe('"a,""b"""');
    expect(csvCell("line\nbreak")).toBe('"line\nbreak"');
    expect(csvCell("=HYPERLINK(1)")).toBe("'=HYPERLINK(1)");
    expect(csvCell("@SUM")).toBe("'@SUM");
    expect(csvCell(-5)).toBe("-5");
  });

  it("writes the report rows with a header, CRLF line ends", () => {
    const csv = reportCsv([
      {
        day: "2026-03-01",
        provider: "openai",
        model: "gpt,4o",
        requests: 2,
        promptTokens: 10,
        completionTokens: 5,
        tokens: 15,
        cost: "0.000015",
      },
    ]);
    expect(csv).toBe(
      'day,provider,model,requests,promptTokens,completionTokens,tokens,cost\r\n2026-03-01,openai,"gpt,4o",2,10,5,15,0.000015\r\n',
    );
  });
});

describe("ndjsonSplitter", () => {
  it("joins lines and multi-byte characters split across chunks, skips blank lines, flushes the last line", () => {
    const seen: unknown[] = [];
    const s = ndjsonSplitter((v) => seen.push(v));
    const bytes = new TextEncoder().encode('{"a":"é"}\n\n{"b":1}\n{"c":');
    s.push(bytes.slice(0, 7)); // splits the two bytes of é
    s.push(bytes.slice(7));
    expect(seen).toEqual([{ a: "é" }, { b: 1 }]);
    s.push(new TextEncoder().encode("2}"));
    s.end();
    expect(seen).toEqual([{ a: "é" }, { b: 1 }, { c: 2 }]);
  });
});
