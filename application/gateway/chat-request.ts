import { z } from "zod";

// The OpenAI chat-completions request as the gateway needs it: the fields that drive routing and
// billing are validated, every other field passes through to the provider untouched (loose objects),
// so new OpenAI parameters work without a gateway release.

const part = z.looseObject({ type: z.string().min(1).max(64), text: z.string().optional() });
const message = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
  content: z.union([z.string(), z.array(part).max(1000), z.null()]).optional(),
  name: z.string().max(256).optional(),
  tool_calls: z.array(z.looseObject({})).max(1000).optional(),
  tool_call_id: z.string().max(256).optional(),
});

export const chatRequestSchema = z
  .looseObject({
    model: z.string().min(1).max(200),
    messages: z.array(message).min(1).max(10_000),
    stream: z.boolean().nullable().optional(),
    stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
    max_tokens: z.number().int().positive().max(10_000_000).nullable().optional(),
    max_completion_tokens: z.number().int().positive().max(10_000_000).nullable().optional(),
    n: z.number().int().min(1).max(16).nullable().optional(),
  })
  .describe("OpenAI chat.completions request; fields not listed pass through to the provider");

export type ChatRequest = z.infer<typeof chatRequestSchema>;

/** Upper bound of prompt tokens per image, audio or file part for the hold; the count policy uses less. */
const MEDIA_HOLD_TOKENS = 2_000;
const MEDIA_COUNTED_TOKENS = 765;
/** OpenAI's chat framing: about 4 tokens per message and 3 to prime the reply */
const PER_MESSAGE = 4;
const PRIMING = 3;

export interface PromptSize {
  /** UTF-8 bytes of all text the model reads (messages, names, tool calls, tool schemas) */
  bytes: number;
  /** the same text in UTF-16 code units */
  chars: number;
  messages: number;
  media: number;
}

export function measurePrompt(request: ChatRequest): PromptSize {
  const size: PromptSize = { bytes: 0, chars: 0, messages: request.messages.length, media: 0 };
  const text = (value: unknown) => {
    if (value === undefined || value === null) return;
    const s = typeof value === "string" ? value : JSON.stringify(value);
    size.bytes += Buffer.byteLength(s);
    size.chars += s.length;
  };
  for (const m of request.messages) {
    if (typeof m.content === "string") text(m.content);
    else
      for (const p of m.content ?? [])
        if (p.type === "text") text(p.text);
        else size.media++;
    text(m.name);
    text(m.tool_calls);
    text(m.tool_call_id);
  }
  for (const field of ["tools", "functions", "response_format", "tool_choice"]) text(request[field]);
  return size;
}

/** The most prompt tokens the request can use: no tokenizer makes fewer than 1 byte per token. */
export const holdPromptTokens = (size: PromptSize, contextLength: number) =>
  Math.min(contextLength, size.bytes + PER_MESSAGE * size.messages + PRIMING + MEDIA_HOLD_TOKENS * size.media);

/** The prompt tokens billed when the provider reports none: 4 characters per token (README policy). */
export const countedPromptTokens = (size: PromptSize) =>
  Math.ceil(size.chars / 4) + PER_MESSAGE * size.messages + PRIMING + MEDIA_COUNTED_TOKENS * size.media;

/** Completion tokens delivered when the provider reports none: one per output chunk, at least chars / 4. */
export const countedCompletionTokens = (chunks: number, chars: number) => Math.max(chunks, Math.ceil(chars / 4));

/** The completion limit the client asked for, or null for the model's maximum. */
export const requestedMaxTokens = (request: ChatRequest) => request.max_completion_tokens ?? request.max_tokens ?? null;

export const choicesOf = (request: ChatRequest) => request.n ?? 1;

export const isStream = (request: ChatRequest) => request.stream === true;

export const clientWantsUsage = (request: ChatRequest) => request.stream_options?.include_usage === true;

/** The body sent upstream: the provider's model id, and include_usage forced on streams (RELIABILITY §6). */
export function upstreamBody(request: ChatRequest, upstreamModel: string): string {
  const body: Record<string, unknown> = { ...request, model: upstreamModel };
  if (isStream(request)) body.stream_options = { ...(request.stream_options ?? {}), include_usage: true };
  return JSON.stringify(body);
}
