import type { UsageSource } from "../../domain/account.ts";
import { countedCompletionTokens } from "./chat-request.ts";
import type { ChatChunk } from "./upstream-answer.ts";

// What a completion is billed for. Provider-reported usage wins when it is sane (OWASP API10: never
// trust upstream numbers blindly); otherwise the gateway counts what it delivered (README policy):
// completion = max(output chunks delivered, ceil(output characters / 4)), prompt = countedPromptTokens.
// A stream that failed before delivering any output and never finished is not charged at all.

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  source: UsageSource;
}

const MAX_REPORTED = 100_000_000;
const sane = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n >= 0 && n <= MAX_REPORTED;

/** `usage` of an OpenAI-compatible answer, or null when absent or not a pair of sane integers. */
export function reportedUsage(value: unknown): { promptTokens: number; completionTokens: number } | null {
  if (typeof value !== "object" || value === null) return null;
  const { prompt_tokens, completion_tokens } = value as Record<string, unknown>;
  return sane(prompt_tokens) && sane(completion_tokens) ? { promptTokens: prompt_tokens, completionTokens: completion_tokens } : null;
}

/** generated output in a message or a delta: content, refusal, reasoning, tool-call arguments */
function outputText(part: unknown): string {
  if (typeof part !== "object" || part === null) return "";
  const p = part as Record<string, unknown>;
  let text = "";
  for (const field of ["content", "refusal", "reasoning", "reasoning_content"])
    if (typeof p[field] === "string") text += p[field] as string;
  const calls = Array.isArray(p.tool_calls) ? p.tool_calls : [];
  for (const call of [...calls, p.function_call]) {
    const args = call as { function?: { arguments?: unknown }; arguments?: unknown } | undefined;
    const value = args?.function?.arguments ?? args?.arguments;
    if (typeof value === "string") text += value;
  }
  return text;
}

export interface Observed {
  /** "drop": the usage-only chunk the client did not ask for */
  action: "forward" | "drop";
  /** choices in this chunk that carried output */
  chunks: number;
  /** the output text of this chunk */
  output: string;
}

/** how much delivered output is kept to catch a credential split across chunks (longer than any provider key) */
const RECENT_CHARS = 512;

/** Watches the chunks of one streamed completion; counts only what the caller says it delivered. */
export class StreamMeter {
  usage: { promptTokens: number; completionTokens: number } | null = null;
  finished = false;
  /** [DONE] seen */
  done = false;
  readonly delivered = { chunks: 0, chars: 0 };
  /** the last output characters delivered */
  recent = "";

  constructor(private readonly clientWantsUsage: boolean) {}

  observe(chunk: ChatChunk): Observed {
    let chunks = 0;
    let output = "";
    for (const choice of chunk.choices) {
      const text = outputText(choice.delta);
      if (text.length > 0) chunks++;
      output += text;
      if (choice.finish_reason) this.finished = true;
    }
    const usage = reportedUsage(chunk.usage);
    if (usage) this.usage = usage;
    // the usage-only chunk the client did not ask for is dropped: naive clients index choices[0]
    const action = usage && chunk.choices.length === 0 && !this.clientWantsUsage ? "drop" : "forward";
    return { action, chunks, output };
  }

  deliver(observed: Observed) {
    this.delivered.chunks += observed.chunks;
    this.delivered.chars += observed.output.length;
    this.recent = (this.recent + observed.output).slice(-RECENT_CHARS);
  }

  /** what to charge, or null for no charge (nothing delivered and the stream never finished) */
  billable(countedPrompt: number): TokenUsage | null {
    if (this.usage) return { ...this.usage, source: "provider" };
    if (this.delivered.chunks === 0 && !this.done && !this.finished) return null;
    return {
      promptTokens: countedPrompt,
      completionTokens: countedCompletionTokens(this.delivered.chunks, this.delivered.chars),
      source: "counted",
    };
  }
}

/** Usage of a non-streamed answer: reported, or counted from the returned messages. */
export function plainUsage(answer: unknown, countedPrompt: number): TokenUsage {
  const reported = reportedUsage((answer as { usage?: unknown } | null)?.usage);
  if (reported) return { ...reported, source: "provider" };
  const choices = (answer as { choices?: unknown } | null)?.choices;
  const chars = Array.isArray(choices)
    ? choices.reduce((n: number, c) => n + outputText((c as { message?: unknown })?.message).length, 0)
    : 0;
  return { promptTokens: countedPrompt, completionTokens: countedCompletionTokens(0, chars), source: "counted" };
}
