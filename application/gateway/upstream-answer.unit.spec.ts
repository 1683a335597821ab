import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { checkAnswer, classifyEvent, isChunk } from "./upstream-answer.ts";

const KEY = "sk-upstream-secret-0123456789";
const leaks = (text: string) => text.includes(KEY);
const completion = (content: unknown) => ({
  id: "c",
  object: "chat.completion",
  choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
});
const chunk = (content: string) => ({
  id: "c",
  object: "chat.completion.chunk",
  choices: [{ index: 0, delta: { content }, finish_reason: null }],
});

describe("checkAnswer (a provider's non-streamed 200)", () => {
  it("accepts a chat completion and returns the JSON to forward", () => {
    const answer = { ...completion("hi"), usage: { prompt_tokens: 1, completion_tokens: 1 }, extra: { kept: true } };
    expect(checkAnswer(JSON.stringify(answer), leaks)).toEqual({ ok: true, answer, text: JSON.stringify(answer) });
    expect(checkAnswer(JSON.stringify({ choices: [{ message: { content: null, tool_calls: [] } }] }), leaks).ok).toBe(true);
  });

  it.each([
    ["not JSON", "<html>502 Bad Gateway</html>", "not_json"],
    ["an error object", JSON.stringify({ error: { message: "overloaded" } }), "error_object"],
    ["an error beside choices", JSON.stringify({ ...completion("hi"), error: { code: 1 } }), "error_object"],
    ["no choices", JSON.stringify({ id: "x", object: "chat.completion" }), "not_a_completion"],
    ["empty choices", JSON.stringify({ choices: [] }), "not_a_completion"],
    ["a chunk", JSON.stringify(chunk("hi")), "not_a_completion"],
    ["another object type", JSON.stringify({ ...completion("hi"), object: "list" }), "not_a_completion"],
    ["a message that is not an object", JSON.stringify({ choices: [{ message: "hi" }] }), "not_a_completion"],
    ["content of the wrong type", JSON.stringify(completion(42)), "not_a_completion"],
    ["an array", "[1,2]", "not_a_completion"],
    ["a string", '"hello"', "not_a_completion"],
    ["the key in the content", JSON.stringify(completion(`Bearer ${KEY}`)), "credential"],
    ["the key hidden in unicode escapes", JSON.stringify(completion(KEY)).replace("sk-", "\\u0073\\u006b-"), "credential"],
    ["20,000 levels of nesting", `{"choices":[{"message":{"content":"hi"}}],"x":${"[".repeat(20_000)}${"]".repeat(20_000)}}`, "not_json"],
    ["the key in an unknown field", JSON.stringify({ ...completion("hi"), debug: { auth: KEY } }), "credential"],
  ])("refuses %s", (_name, body, why) => {
    expect(checkAnswer(body, leaks)).toEqual({ ok: false, why });
  });

  it("refuses any JSON value without a choices array", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        fc.pre(typeof value !== "object" || value === null || !Array.isArray((value as { choices?: unknown }).choices));
        expect(checkAnswer(JSON.stringify(value), leaks).ok).toBe(false);
      }),
    );
  });
});

describe("classifyEvent (one SSE event of a streamed 200)", () => {
  it("classifies chunks, [DONE], comments, junk and refusals", () => {
    expect(classifyEvent(JSON.stringify(chunk("hi")), leaks)).toMatchObject({ kind: "chunk", text: JSON.stringify(chunk("hi")) });
    expect(classifyEvent(JSON.stringify({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 2 } }), leaks).kind).toBe("chunk");
    expect(classifyEvent(" [DONE] ", leaks)).toEqual({ kind: "done" });
    expect(classifyEvent(null, leaks)).toEqual({ kind: "comment" });
    for (const junk of ["not json", "{", "data", ""]) expect(classifyEvent(junk, leaks)).toEqual({ kind: "junk" });
    expect(classifyEvent(JSON.stringify({ error: { message: "boom" } }), leaks)).toEqual({ kind: "refused", why: "error_object" });
    for (const other of [{ foo: 1 }, [1], 7, { choices: "x" }, { choices: [{ delta: "x" }] }, { object: "chat.completion", choices: [] }]) {
      expect(classifyEvent(JSON.stringify(other), leaks)).toEqual({ kind: "refused", why: "not_a_completion" });
    }
    expect(classifyEvent(JSON.stringify(chunk(`my key is ${KEY}`)), leaks)).toEqual({ kind: "refused", why: "credential" });
  });

  it("forwards the re-serialised value: duplicate keys and escapes cannot smuggle text past the check", () => {
    const smuggled = `{"choices":[{"index":0,"delta":{"content":"ok"}}],"x":"\\u0073k-upstream-secret-0123456789"}`;
    expect(classifyEvent(smuggled, leaks)).toEqual({ kind: "refused", why: "credential" });
    const duplicate = `{"choices":[],"note":"${KEY}","note":"hidden"}`;
    const event = classifyEvent(duplicate, leaks);
    expect(event.kind === "chunk" && event.text).toBe('{"choices":[],"note":"hidden"}');
  });
});

describe("isChunk (the streamed chunk's shape, checked by hand)", () => {
  // the same rules in zod's words: the hand-written check must agree with them on any value
  const content = z.union([z.string(), z.null(), z.array(z.unknown())]).optional();
  const chunkSchema = z.looseObject({
    object: z.literal("chat.completion.chunk").optional(),
    choices: z
      .array(
        z.looseObject({
          index: z.number().int().min(0).optional(),
          delta: z.looseObject({ role: z.string().max(64).optional(), content }).optional(),
          finish_reason: z.string().max(64).nullable().optional(),
        }),
      )
      .max(128),
  });
  // mostly valid values, each part sometimes replaced by any JSON: a disagreement anywhere shows
  const text = fc.oneof(fc.string({ maxLength: 3 }), fc.string({ minLength: 60, maxLength: 70 }));
  const anything = fc.oneof(fc.jsonValue({ maxDepth: 2 }), text);
  const valid = <T>(value: fc.Arbitrary<T>) => fc.oneof({ arbitrary: value, weight: 6 }, { arbitrary: anything, weight: 1 });
  const field = <T>(value: fc.Arbitrary<T>) => fc.option(valid(value), { nil: undefined, freq: 3 });
  const choice = valid(
    fc.record(
      {
        index: field(fc.oneof(fc.integer({ min: -2, max: 3 }), fc.double(), fc.constant(2 ** 53))),
        delta: field(
          fc.record(
            { role: field(text), content: field(fc.oneof(text, fc.constant(null), fc.array(anything, { maxLength: 2 }))) },
            { requiredKeys: [] },
          ),
        ),
        finish_reason: field(fc.oneof(text, fc.constant(null))),
      },
      { requiredKeys: [] },
    ),
  );
  const value = valid(
    fc.record(
      {
        object: field(fc.constantFrom("chat.completion.chunk", "chat.completion")),
        choices: valid(
          fc.oneof({ arbitrary: fc.array(choice, { maxLength: 3 }), weight: 9 }, fc.constant(Array.from({ length: 129 }, () => ({})))),
        ),
        id: field(text),
      },
      { requiredKeys: ["choices"] },
    ),
  );

  it("accepts exactly what the chunk schema accepts", () => {
    fc.assert(
      fc.property(value, (v) => {
        const json = JSON.parse(JSON.stringify(v ?? null)) as unknown; // as a provider's event arrives: parsed JSON
        expect(isChunk(json)).toBe(chunkSchema.safeParse(json).success);
      }),
      { numRuns: 5000 },
    );
  });
});
