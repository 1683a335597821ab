import { z } from "zod";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "./json-depth.ts";

// What a provider's 200 must be before a byte of it reaches the client (OWASP LLM05: upstream output
// is untrusted input). A plain answer must be a chat completion, a streamed event a completion chunk;
// anything else is refused (502 when nothing was delivered yet). What is forwarded is the JSON text
// re-serialised from the validated value, so no extra SSE fields, comments, duplicate keys or escaped
// forms pass through unchecked, and the credential check runs on exactly the text the client gets.

const content = z.union([z.string(), z.null(), z.array(z.unknown())]).optional();
const choice = z.looseObject({
  index: z.number().int().min(0).optional(),
  message: z.looseObject({ role: z.string().max(64).optional(), content }),
  finish_reason: z.string().max(64).nullable().optional(),
});
const completion = z.looseObject({
  object: z.literal("chat.completion").optional(),
  choices: z.array(choice).min(1).max(128),
});
/** a streamed event's choice and chunk: unknown fields pass through as the provider sent them */
export interface ChatChunk {
  object?: "chat.completion.chunk";
  choices: {
    index?: number;
    delta?: { role?: string; content?: string | null | unknown[]; [field: string]: unknown };
    finish_reason?: string | null;
    [field: string]: unknown;
  }[];
  [field: string]: unknown;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const shortText = (value: unknown) => typeof value === "string" && value.length <= 64;

/**
 * The chunk shape, checked by hand: this runs for every event of every stream, where a zod parse (which
 * copies each object it validates) cost several µs per event. Same rules as the completion's schema
 * above; upstream-answer.unit.spec.ts checks it against the zod form of them on generated values.
 */
export function isChunk(value: unknown): value is ChatChunk {
  if (!isRecord(value)) return false;
  if (value.object !== undefined && value.object !== "chat.completion.chunk") return false;
  const choices = value.choices;
  if (!Array.isArray(choices) || choices.length > 128) return false;
  for (const choice of choices) {
    if (!isRecord(choice)) return false;
    if (choice.index !== undefined && !(Number.isSafeInteger(choice.index) && (choice.index as number) >= 0)) return false;
    if (choice.finish_reason !== undefined && choice.finish_reason !== null && !shortText(choice.finish_reason)) return false;
    const delta = choice.delta;
    if (delta === undefined) continue;
    if (!isRecord(delta)) return false;
    if (delta.role !== undefined && !shortText(delta.role)) return false;
    const content = delta.content;
    if (content !== undefined && content !== null && typeof content !== "string" && !Array.isArray(content)) return false;
  }
  return true;
}

export type Refusal = "not_json" | "not_a_completion" | "error_object" | "credential";

/** Ways a provider's 200 can misbehave; counted per provider (gateway.anomaly), exported on /metrics. */
export type UpstreamAnomaly = "non_json_event" | "invalid_response" | "credential_echo";
/** the anomaly a refusal counts as; an upstream error object is a provider failure (the breaker counts it), not an anomaly */
export const anomalyOf = (why: Refusal): UpstreamAnomaly | null =>
  why === "credential" ? "credential_echo" : why === "error_object" ? null : "invalid_response";

/** true when the text contains an upstream credential (every configured provider's key is checked) */
export type LeakCheck = (text: string) => boolean;

/** the parsed JSON, or undefined when it is not JSON or nests too deep to re-serialise safely */
function parse(text: string): unknown {
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const hasError = (value: unknown) => typeof value === "object" && value !== null && (value as { error?: unknown }).error != null;

/** A non-streamed 200: the completion and the text to send, or why it is refused. */
export function checkAnswer(body: string, leaks: LeakCheck): { ok: true; answer: unknown; text: string } | { ok: false; why: Refusal } {
  const value = parse(body);
  if (value === undefined) return { ok: false, why: "not_json" };
  if (hasError(value)) return { ok: false, why: "error_object" };
  if (!completion.safeParse(value).success) return { ok: false, why: "not_a_completion" };
  const text = JSON.stringify(value);
  return leaks(text) ? { ok: false, why: "credential" } : { ok: true, answer: value, text };
}

export type UpstreamEvent =
  | { kind: "chunk"; chunk: ChatChunk; text: string }
  | { kind: "done" }
  /** an SSE comment (keep-alive); its bytes are never forwarded */
  | { kind: "comment" }
  /** data that is not JSON: dropped and counted */
  | { kind: "junk" }
  | { kind: "refused"; why: Refusal };

/** One SSE event's data (null: a comment) classified. */
export function classifyEvent(data: string | null, leaks: LeakCheck): UpstreamEvent {
  if (data === null) return { kind: "comment" };
  if (data.trim() === "[DONE]") return { kind: "done" };
  const value = parse(data);
  if (value === undefined) return { kind: "junk" };
  if (hasError(value)) return { kind: "refused", why: "error_object" };
  if (!isChunk(value)) return { kind: "refused", why: "not_a_completion" };
  const text = JSON.stringify(value);
  return leaks(text) ? { kind: "refused", why: "credential" } : { kind: "chunk", chunk: value, text };
}
