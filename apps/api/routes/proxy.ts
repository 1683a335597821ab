import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { once } from "node:events";
import { PassThrough } from "node:stream";
import { z } from "zod";
import { formatMoney } from "../../../domain/money.ts";
import { getBalance } from "../../../projections/balances.ts";
import { chatRequestSchema, isStream, requestedMaxTokens, choicesOf } from "../../../application/gateway/chat-request.ts";
import { finishPlain, openChat, type ChatCall } from "../../../application/gateway/chat.ts";
import type { Gateway } from "../../../application/gateway/gateway.ts";
import { quoteChat } from "../../../application/gateway/quote.ts";
import { STRATEGIES, type Strategy } from "../../../application/gateway/router.ts";
import { openStream, pipeStream, type StreamSink } from "../../../application/gateway/stream.ts";
import type { Platform } from "../../../application/platform.ts";
import { actorOf, apiKeyOf } from "../auth.ts";
import { traceOf } from "../context.ts";
import { problem } from "../contract.ts";
import { moneyOut } from "../schemas.ts";

// The OpenAI-compatible proxy: API keys only (access "key"), metered against the key's account.
// Errors are problem+json that also carry OpenAI's `error` object, so official SDKs show the message.
// Never passed to the client: upstream headers (none is allow-listed), upstream error bodies, upstream
// bytes that were not validated (application/gateway/upstream-answer.ts), the provider key.

const CHAT_BODY_LIMIT = 16 * 1024 * 1024;
const strategyHeader = z.object({ "x-aggregator-strategy": z.enum(STRATEGIES).optional() });

/** the provider's answer as passed through: what clients rely on, the rest as the provider sent it */
const ChatCompletion = z.looseObject({
  id: z.string(),
  object: z.literal("chat.completion"),
  created: z.int(),
  model: z.string(),
  choices: z.array(
    z.looseObject({
      index: z.int(),
      message: z.looseObject({ role: z.string(), content: z.string().nullable().optional() }),
      finish_reason: z.string().nullable(),
    }),
  ),
  usage: z.looseObject({ prompt_tokens: z.int(), completion_tokens: z.int(), total_tokens: z.int() }).optional(),
});
/** one server-sent event of a streamed completion (OpenAPI 3.1: the schema of an event stream is one event) */
const CompletionEvent = z.object({
  event: z.string().optional(),
  data: z.string().describe('a chat.completion.chunk as JSON; "[DONE]" once the charge is durable; {"error": …} if the stream broke'),
  id: z.string().optional(),
  retry: z.int().optional(),
});
const completion = {
  description: "the completion: JSON, or with stream=true server-sent events (chat.completion.chunk objects, then [DONE])",
  content: { "application/json": { schema: ChatCompletion }, "text/event-stream": { schema: CompletionEvent } },
};
const ModelList = z.object({
  object: z.literal("list"),
  data: z.array(z.object({ id: z.string(), object: z.literal("model"), created: z.int(), owned_by: z.string() })),
});
const Validation = z.object({
  valid: z.literal(true),
  model: z.string(),
  stream: z.boolean(),
  route: z.object({ provider: z.string(), upstreamId: z.string() }),
  fallbacks: z.array(z.object({ provider: z.string(), upstreamId: z.string() })),
  estimate: z.object({ promptTokens: z.int(), maxCompletionTokens: z.int(), maxCost: moneyOut }),
  funds: z.object({ available: moneyOut, required: moneyOut, sufficient: z.boolean() }),
});

const openAiType = (status: number) =>
  status === 401
    ? "authentication_error"
    : status === 402
      ? "insufficient_quota"
      : status === 429
        ? "rate_limit_exceeded"
        : status >= 500
          ? "server_error"
          : "invalid_request_error";

/** onSend: every problem+json of these routes (auth and validation ones too) also carries OpenAI's error object */
async function withOpenAiError(_request: FastifyRequest, reply: FastifyReply, payload: unknown) {
  if (typeof payload !== "string" || !String(reply.getHeader("content-type")).startsWith("application/problem+json")) return payload;
  const problem = JSON.parse(payload) as { status: number; detail: string; code: string; error?: unknown };
  if (problem.error !== undefined) return payload;
  return JSON.stringify({ ...problem, error: { message: problem.detail, type: openAiType(problem.status), code: problem.code } });
}

function sinkFor(out: PassThrough, reply: FastifyReply, signal: AbortSignal): StreamSink {
  const isOpen = () => !signal.aborted && !out.destroyed;
  return {
    isOpen,
    async write(bytes) {
      if (out.write(bytes) || !isOpen()) return;
      await once(out, "drain", { signal }).catch(() => undefined);
    },
    end: (bytes) => (isOpen() ? out.end(bytes) : reply.raw.destroy()),
  };
}

export async function proxyRoutes(fastify: FastifyInstance, { platform, gateway }: { platform: Platform; gateway: Gateway }) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const tags = ["proxy"];
  app.addHook("onSend", withOpenAiError);

  async function chat(
    request: FastifyRequest,
    reply: FastifyReply,
    body: z.infer<typeof chatRequestSchema>,
    provider?: string,
    strategy: Strategy = "priority",
  ) {
    const user = apiKeyOf(request);
    const abort = new AbortController();
    reply.raw.once("close", () => reply.raw.writableFinished || abort.abort());
    const actor = actorOf(request);
    const call: ChatCall = {
      caller: { userId: user.userId, keyId: user.keyId, limits: user.limits },
      request: body,
      strategy,
      ...(provider ? { provider } : {}),
      context: () => ({ actor, correlationId: request.id, now: platform.now(), ...traceOf(request) }),
      ...(request.trace ? { trace: request.trace } : {}),
      signal: abort.signal,
    };
    const open = await openChat(gateway, call);
    reply.header("x-aggregator-provider", open.candidate.provider).header("x-aggregator-request-id", open.hold.requestId);
    if (!isStream(body)) {
      const answer = await finishPlain(gateway, open);
      return reply.header("x-aggregator-cost", formatMoney(answer.cost)).type("application/json").send(answer.body);
    }
    const upstream = await openStream(gateway, open);
    const out = new PassThrough();
    out.on("error", () => undefined); // a client that left; the outcome is settled below
    reply.header("content-type", "text/event-stream; charset=utf-8").header("cache-control", "no-cache").header("x-accel-buffering", "no");
    reply.send(out);
    pipeStream(gateway, open, upstream, sinkFor(out, reply, abort.signal)).catch((error) => {
      request.log.error({ err: error }, "stream failed");
      out.destroy();
    });
    return reply;
  }

  const chatSchema = (summary: string) => ({
    tags,
    summary,
    body: chatRequestSchema,
    headers: strategyHeader,
    response: { 200: completion },
  });
  app.post("/v1/chat/completions", {
    config: { access: "key", scope: "chat", metered: true },
    bodyLimit: CHAT_BODY_LIMIT,
    schema: chatSchema("OpenAI-compatible chat completion, routed by model (header x-aggregator-strategy: priority, cheapest, fastest)"),
    handler: (request, reply) => chat(request, reply, request.body, undefined, request.headers["x-aggregator-strategy"]),
  });
  for (const provider of ["openai", "openrouter"]) {
    app.post(`/proxy/${provider}/chat/completions`, {
      config: { access: "key", scope: "chat", metered: true },
      bodyLimit: CHAT_BODY_LIMIT,
      schema: chatSchema(`Chat completion at ${provider} only (no fallback); model is the catalog id or ${provider}'s own id`),
      handler: (request, reply) => chat(request, reply, request.body, provider),
    });
  }

  app.get("/v1/models", {
    config: { access: "user", scope: "chat" },
    schema: { tags, summary: "Models in OpenAI's list shape", response: { 200: ModelList } },
    handler: async () => {
      const seen = new Map<string, { id: string; object: "model"; created: number; owned_by: string }>();
      for (const m of platform.catalog.models) {
        if (!seen.has(m.id))
          seen.set(m.id, { id: m.id, object: "model", created: Math.floor(Date.parse(m.prices[0]!.from) / 1000), owned_by: m.provider });
      }
      return { object: "list" as const, data: [...seen.values()] };
    },
  });

  app.post("/proxy/validate-request", {
    config: { access: "key", scope: "chat" },
    bodyLimit: CHAT_BODY_LIMIT,
    schema: {
      tags,
      summary: "Validate a chat request, estimate its cost and check funds; calls no provider",
      body: chatRequestSchema,
      querystring: z.strictObject({
        provider: z.enum(["openai", "openrouter"]).optional(),
        strategy: z.enum(STRATEGIES).default("priority"),
      }),
      response: {
        200: Validation,
        404: problem("the model is not offered (MODEL.NOT_FOUND)"),
        503: problem("no provider can serve the model now (PROVIDER.UNAVAILABLE)"),
      },
    },
    handler: async (request) => {
      const user = apiKeyOf(request);
      const body = request.body;
      const quote = quoteChat(gateway, body, {
        strategy: request.query.strategy,
        at: platform.now(),
        ...(request.query.provider ? { provider: request.query.provider } : {}),
      });
      const [route, ...fallbacks] = quote.plan.candidates;
      const balance = await getBalance(platform.reads, user.userId);
      const available = balance ? balance.balance - balance.held : 0;
      const view = (c: typeof route) => ({ provider: c!.provider, upstreamId: c!.model.upstreamId });
      return {
        valid: true as const,
        model: quote.plan.model,
        stream: isStream(body),
        route: view(route),
        fallbacks: fallbacks.map(view),
        estimate: {
          promptTokens: quote.countedPrompt,
          maxCompletionTokens: choicesOf(body) * (requestedMaxTokens(body) ?? route!.model.maxOutputTokens),
          maxCost: quote.holdAmount,
        },
        funds: { available, required: quote.holdAmount, sufficient: available >= quote.holdAmount },
      };
    },
  });
}
