import { describe, expect, it } from "vitest";
import { takeBatch, type Append } from "./write-batch.ts";

const append = (stream: string, ...ids: string[]): Append => ({
  stream,
  expected: "no_stream",
  rows: ids.map((eventId) => ({ eventId, type: "t", data: "{}", metadata: "{}" })),
});
const names = (list: Append[]) => list.map((a) => `${a.stream}:${a.rows.map((r) => r.eventId).join("+")}`);

describe("takeBatch: the appends of one batch never depend on one another", () => {
  it("takes each stream once; later appends to it wait, in order", () => {
    const { batch, rest } = takeBatch([append("a", "1"), append("b", "2"), append("a", "3"), append("c", "4"), append("a", "5")]);
    expect(names(batch)).toEqual(["a:1", "b:2", "c:4"]);
    expect(names(rest)).toEqual(["a:3", "a:5"]);
  });

  it("takes each event id once, and a deferred append blocks its stream", () => {
    const { batch, rest } = takeBatch([append("a", "1"), append("b", "1", "2"), append("b", "3"), append("c", "3")]);
    expect(names(batch)).toEqual(["a:1", "c:3"]);
    expect(names(rest)).toEqual(["b:1+2", "b:3"]);
  });

  it("takes up to maxEvents events, or one larger append alone", () => {
    const queue = [append("a", "1", "2"), append("b", "3"), append("c", "4", "5"), append("d", "6")];
    expect(names(takeBatch(queue, [], 3).batch)).toEqual(["a:1+2", "b:3"]);
    expect(names(takeBatch(queue, [], 3).rest)).toEqual(["c:4+5", "d:6"]);
    expect(names(takeBatch(queue, [], 1).batch)).toEqual(["a:1+2"]);
  });

  it("leaves out streams and ids of the batches still in flight", () => {
    const { batch, rest } = takeBatch([append("a", "9"), append("b", "1"), append("c", "2")], [[append("a", "8")], [append("x", "1")]]);
    expect(names(batch)).toEqual(["c:2"]);
    expect(names(rest)).toEqual(["a:9", "b:1"]);
  });
});
