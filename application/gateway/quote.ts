import type { CatalogModel } from "../../domain/catalog.ts";
import type { Prices } from "../../domain/events.ts";
import { costOf } from "../../domain/money.ts";
import {
  choicesOf,
  countedPromptTokens,
  holdPromptTokens,
  measurePrompt,
  requestedMaxTokens,
  type ChatRequest,
  type PromptSize,
} from "./chat-request.ts";
import type { Gateway } from "./gateway.ts";
import { offersOf, type RoutePlan, type Strategy } from "./router.ts";

// Before anything is held: the route, and the most the request can cost on any of its candidates.
// The hold covers the priciest candidate, so a fallback never runs on an insufficient hold.

/** A refusal with its stable code and headers (Retry-After…); the API's error table gives its status. */
export class GatewayError extends Error {
  constructor(
    readonly code: string,
    detail: string,
    readonly headers: Record<string, string> = {},
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = "GatewayError";
  }
}

/** 503 with Retry-After = the soonest an open circuit lets a probe through (30 s when none will) */
export function unavailable(plan: RoutePlan): GatewayError {
  const waits = plan.skipped.flatMap((s) => (s.retryAfterMs === undefined ? [] : [s.retryAfterMs]));
  const retryAfter = waits.length ? Math.max(1, Math.ceil(Math.min(...waits) / 1000)) : 30;
  return new GatewayError(
    "PROVIDER.UNAVAILABLE",
    `no provider can serve ${plan.model} now`,
    { "retry-after": String(retryAfter) },
    { skipped: plan.skipped },
  );
}

export interface Quote {
  plan: RoutePlan;
  prompt: PromptSize;
  /** prompt tokens billed if the provider reports no usage */
  countedPrompt: number;
  /** micro-USD: the most the request can cost on its priciest candidate (at least 1) */
  holdAmount: number;
  /** for tokens-per-minute limits: counted prompt + every completion token the request may produce */
  tokenEstimate: number;
}

export interface QuoteQuery {
  provider?: string;
  strategy: Strategy;
  /** price instant */
  at: string;
}

export function quoteChat(gw: Gateway, request: ChatRequest, query: QuoteQuery): Quote {
  const requested = requestedMaxTokens(request);
  const n = choicesOf(request);
  const prompt = measurePrompt(request);
  const completion = (m: CatalogModel) => n * (requested ?? m.maxOutputTokens);
  const holdCost = (m: CatalogModel, prices: Prices) => costOf(holdPromptTokens(prompt, m.contextLength), completion(m), prices);
  const plan = gw.plan({
    model: request.model,
    strategy: query.strategy,
    at: query.at,
    estimate: holdCost,
    ...(query.provider ? { provider: query.provider } : {}),
  });
  if (!plan) {
    const where = query.provider ? ` at provider ${query.provider}` : "";
    throw new GatewayError("MODEL.NOT_FOUND", `model ${request.model} is not offered${where}; GET /v1/models lists the models`);
  }
  if (requested !== null) {
    const limit = Math.max(...offersOf(gw.platform.catalog, request.model, query.provider).map((m) => m.maxOutputTokens));
    if (requested > limit)
      throw new GatewayError("REQUEST.MAX_TOKENS", `max_tokens ${requested} exceeds the limit of ${limit} for model ${plan.model}`);
    plan.candidates = plan.candidates.filter((c) => requested <= c.model.maxOutputTokens);
  }
  if (plan.candidates.length === 0) throw unavailable(plan);
  const holdAmount = Math.max(1, ...plan.candidates.map((c) => holdCost(c.model, c.prices)));
  const tokenEstimate = countedPromptTokens(prompt) + Math.max(...plan.candidates.map((c) => completion(c.model)));
  return { plan, prompt, countedPrompt: countedPromptTokens(prompt), holdAmount, tokenEstimate };
}
