import type { UsageSource } from "../../domain/account.ts";
import { countedCompletionTokens } from "./chat-request.ts";

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

/** characters of generated output in a message or a delta: content, refusal, reasoning, tool-call arguments */
function outputChars(part: unknown): number {
  if (typeof part !== "object" || part === null) return 0;
  const p = part as Record<string, unknown>;
  let chars = 0;
  for (const field of ["content", "refusal", "reasoning", "reasoning_content"]) if (typeof p[field] === "string") chars += (p[field] as string).length;
  const calls = Array.isArray(p.tool_calls) ? p.tool_calls : [];
  for (const call of [...calls, p.function_call]) {
    const args = (call as { function?: { arguments?: unknown }; arguments?: unknown } | undefined);
    const text = args?.function?.arguments ?? args?.arguments;
    if (typeof text === "string") chars += text.length;
  }
  return chars;
}

export type EventAction = "forward" | "drop" | "done" | "error";

export interface Observed {
  action: EventAction;
  /** choices in this event that carried output */
  chunks: number;
  chars: number;
}

/** Watches the SSE data of one streamed completion; counts only what the caller says it delivered. */
export class StreamMeter {
  usage: { promptTokens: number; completionTokens: number } | null = null;
  finished = false;
  done = false;
  readonly delivered = { chunks: 0, chars: 0 };

  constructor(private readonly clientWantsUsage: boolean) {}

  observe(data: string | null): Observed {
    const none = { chunks: 0, chars: 0 };
    if (data === null) return { action: "forward", ...none }; // comments and keep-alives
    if (data.trim() === "[DONE]") {
      this.done = true;
      return { action: "done", ...none };
    }
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return { action: "forward", ...none };
    }
    if (json.error !== undefined && json.error !== null) return { action: "error", ...none };
    const choices = Array.isArray(json.choices) ? (json.choices as Record<string, unknown>[]) : [];
    let chunks = 0;
    let chars = 0;
    for (const choice of choices) {
      const n = outputChars(choice?.delta);
      if (n > 0) chunks++;
      chars += n;
      if (choice?.finish_reason) this.finished = true;
    }
    const usage = reportedUsage(json.usage);
    if (usage) this.usage = usage;
    // the usage-only chunk the client did not ask for is dropped: naive clients index choices[0]
    const action = usage && choices.length === 0 && !this.clientWantsUsage ? "drop" : "forward";
    return { action, chunks, chars };
  }

  deliver(observed: Observed) {
    this.delivered.chunks += observed.chunks;
    this.delivered.chars += observed.chars;
  }

  /** what to charge, or null for no charge (nothing delivered and the stream never finished) */
  billable(countedPrompt: number): TokenUsage | null {
    if (this.usage) return { ...this.usage, source: "provider" };
    if (this.delivered.chunks === 0 && !this.done && !this.finished) return null;
    return { promptTokens: countedPrompt, completionTokens: countedCompletionTokens(this.delivered.chunks, this.delivered.chars), source: "counted" };
  }
}

/** Usage of a non-streamed answer: reported, or counted from the returned messages. */
export function plainUsage(answer: unknown, countedPrompt: number): TokenUsage {
  const reported = reportedUsage((answer as { usage?: unknown } | null)?.usage);
  if (reported) return { ...reported, source: "provider" };
  const choices = (answer as { choices?: unknown } | null)?.choices;
  const chars = Array.isArray(choices) ? choices.reduce((n: number, c) => n + outputChars((c as { message?: unknown })?.message), 0) : 0;
  return { promptTokens: countedPrompt, completionTokens: countedCompletionTokens(0, chars), source: "counted" };
}
