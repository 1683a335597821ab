import { describe, expect, it } from "vitest";
import { countedPromptTokens, holdPromptTokens, measurePrompt, upstreamBody, type ChatRequest } from "./chat-request.ts";
import { plainUsage, reportedUsage, StreamMeter } from "./metering.ts";
import type { ChatChunk } from "./upstream-answer.ts";

const delta = (content: string, finish: string | null = null): ChatChunk => ({
  choices: [{ index: 0, delta: { content }, finish_reason: finish }],
});
const usageChunk: ChatChunk = { choices: [], usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 } };

describe("StreamMeter", () => {
  it("bills the provider's usage when it came, and drops the usage chunk the client did not ask for", () => {
    const meter = new StreamMeter(false);
    for (const data of [delta(""), delta("Hi"), delta("", "stop")]) meter.deliver(meter.observe(data));
    expect(meter.observe(usageChunk).action).toBe("drop");
    meter.done = true;
    expect(meter.billable(99)).toEqual({ promptTokens: 10, completionTokens: 20, source: "provider" });
    expect(new StreamMeter(true).observe(usageChunk).action).toBe("forward");
  });

  it("counts delivered output when no usage came: max(chunks, ceil(chars / 4)), tool-call arguments and reasoning included", () => {
    const meter = new StreamMeter(false);
    const tool: ChatChunk = { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] } }] };
    const reasoning: ChatChunk = { choices: [{ index: 0, delta: { reasoning: "hmm" } }] };
    for (const data of [delta("a"), delta("b"), tool, reasoning]) meter.deliver(meter.observe(data));
    meter.observe(delta("never delivered")); // observed, not delivered: not billed
    expect(meter.billable(7)).toEqual({ promptTokens: 7, completionTokens: 4, source: "counted" }); // 4 chunks ≥ ceil(13 / 4)
    const long = new StreamMeter(false);
    long.deliver(long.observe(delta("x".repeat(41))));
    expect(long.billable(0)!.completionTokens).toBe(11);
  });

  it("charges nothing for a stream that broke before any output; a finished empty one pays its prompt", () => {
    const broken = new StreamMeter(false);
    broken.deliver(broken.observe(delta("")));
    expect(broken.billable(9)).toBeNull();
    const empty = new StreamMeter(false);
    empty.observe(delta("", "stop"));
    expect(empty.billable(9)).toEqual({ promptTokens: 9, completionTokens: 0, source: "counted" });
  });

  it("keeps the last delivered output, so a credential split across chunks can be caught", () => {
    const meter = new StreamMeter(false);
    for (const part of ["abc", "x".repeat(600), "tail-"]) meter.deliver(meter.observe(delta(part)));
    expect(meter.recent).toHaveLength(512);
    expect(meter.recent.endsWith("xxtail-")).toBe(true);
  });
});

describe("reported usage (never trusted blindly)", () => {
  it("accepts only pairs of sane integers", () => {
    expect(reportedUsage({ prompt_tokens: 1, completion_tokens: 2 })).toEqual({ promptTokens: 1, completionTokens: 2 });
    for (const bad of [
      null,
      {},
      { prompt_tokens: -1, completion_tokens: 2 },
      { prompt_tokens: 1.5, completion_tokens: 2 },
      { prompt_tokens: "1", completion_tokens: 2 },
      { prompt_tokens: 1, completion_tokens: 1e12 },
    ]) {
      expect(reportedUsage(bad)).toBeNull();
    }
  });
  it("plain answers without usage are counted from their messages", () => {
    expect(plainUsage({ choices: [{ message: { content: "abcdefghi" } }] }, 5)).toEqual({
      promptTokens: 5,
      completionTokens: 3,
      source: "counted",
    });
    expect(plainUsage({ usage: { prompt_tokens: 3, completion_tokens: 4 } }, 5)).toEqual({
      promptTokens: 3,
      completionTokens: 4,
      source: "provider",
    });
  });
});

describe("chat request", () => {
  const request: ChatRequest = {
    model: "m",
    messages: [
      { role: "system", content: "Be brief." },
      {
        role: "user",
        content: [
          { type: "text", text: "héllo" },
          { type: "image_url", image_url: { url: "https://x" } },
        ],
      },
    ],
    stream: true,
    temperature: 0.2,
  };

  it("measures the prompt: bytes bound the hold, characters / 4 the counted policy, media by a fixed allowance", () => {
    const size = measurePrompt(request);
    expect(size).toEqual({ bytes: 9 + 6, chars: 9 + 5, messages: 2, media: 1 });
    expect(holdPromptTokens(size, 100_000)).toBe(15 + 8 + 3 + 2000);
    expect(holdPromptTokens(size, 1000)).toBe(1000); // never more than the context window
    expect(countedPromptTokens(size)).toBe(4 + 8 + 3 + 765);
  });

  it("upstream body: the provider's model id, include_usage forced on streams, other fields untouched", () => {
    const body = JSON.parse(upstreamBody({ ...request, stream_options: { include_usage: false } }, "vendor/m"));
    expect(body).toMatchObject({ model: "vendor/m", stream: true, temperature: 0.2, stream_options: { include_usage: true } });
    expect(JSON.parse(upstreamBody({ ...request, stream: false }, "x")).stream_options).toBeUndefined();
  });
});
