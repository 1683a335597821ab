import { describe, expect, it } from "vitest";
import { createProgress, progressLine } from "./progress.ts";

describe("progress line", () => {
  it("shows a bar, percentage, counts, rate and ETA when the total is known", () => {
    const line = progressLine("replay", 25_000, 100_000, 5000, "events");
    expect(line).toBe("replay [######------------------]  25% 25.0k/100.0k events  5000 events/s  ETA 00:15");
  });

  it("shows only count and rate when the total is unknown (follow)", () => {
    expect(progressLine("replay", 42, undefined, 2000, "events")).toBe("replay 42 events  21 events/s");
  });

  it("draws nothing when stderr is not a terminal", () => {
    const written: string[] = [];
    const fake = { isTTY: false, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
    const p = createProgress("x", "events", fake);
    p.update(1, 2);
    p.stop();
    expect(written).toEqual([]);
  });
});
