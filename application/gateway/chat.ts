import { randomUUID } from "node:crypto";
import { DomainError } from "../../domain/errors.ts";
import type { ApiKeyLimits } from "../../domain/events.ts";
import { readBody, UpstreamError, type UpstreamResponse } from "./provider.ts";
import type { CommandContext } from "../commands/command-handler.ts";
import { isStream, upstreamBody, type ChatRequest } from "./chat-request.ts";
import type { Gateway } from "./gateway.ts";
import type { LimitTicket } from "./limits.ts";
import { plainUsage, type TokenUsage } from "./metering.ts";
import { GatewayError, quoteChat, type Quote } from "./quote.ts";
import type { Candidate, Strategy } from "./router.ts";
import { release, reserve, settle, type Hold } from "./settlement.ts";
import { anomalyOf, checkAnswer, type Refusal } from "./upstream-answer.ts";

// One chat completion: quote → per-key limits → hold (402 when balance − holds cannot cover it) →
// providers in route order until one answers 2xx (called once the hold is decided; nothing reaches the
// client before it is durable) → settle. An attempt that fails before anything
// reached the client is retried on the next candidate and costs nothing; a client error (400, 413,
// 422) goes back to the client, unretried and uncharged.

export interface ChatCaller {
  userId: string;
  keyId: string;
  limits: ApiKeyLimits;
}

export interface ChatCall {
  caller: ChatCaller;
  request: ChatRequest;
  provider?: string;
  strategy: Strategy;
  /** a fresh command context (actor, correlation, now, trace) for each command of this request */
  context: () => CommandContext;
  /** W3C trace context headers of this request (traceparent, tracestate), handed to the upstream call; none when tracing is off */
  trace?: Readonly<Record<string, string>>;
  /** aborted when the client goes away */
  signal: AbortSignal;
}

export interface OpenChat {
  call: ChatCall;
  quote: Quote;
  hold: Hold;
  /** settles once the hold's append is durable (null) or failed */
  holding: Promise<HoldFailure | null>;
  ticket: LimitTicket;
  candidate: Candidate;
  response: UpstreamResponse;
}

type HoldFailure = { error: unknown };

/** upstream statuses that are the client's fault: passed back (as these codes), unretried and uncharged */
const CLIENT_ERRORS = new Map([
  [400, "UPSTREAM.REJECTED"],
  [413, "UPSTREAM.TOO_LARGE"],
  [422, "UPSTREAM.UNPROCESSABLE"],
]);
const SECRETISH = /\b(?:sk|rk|aia|or|key|Bearer)[-_ ][A-Za-z0-9_-]{6,}|[A-Za-z0-9_-]{24,}/g;

/** An upstream 4xx message the client may see: JSON `error.message` only, credentials and secret-like words redacted, truncated. */
async function upstreamMessage(gw: Gateway, response: UpstreamResponse): Promise<string> {
  try {
    const body = JSON.parse((await readBody(response, 64 * 1024)).toString("utf8")) as { error?: { message?: unknown } };
    const message = typeof body.error?.message === "string" ? body.error.message : "request rejected";
    return gw.redact(message).replace(SECRETISH, "[redacted]").slice(0, 300);
  } catch {
    return "request rejected";
  }
}

async function attempt(gw: Gateway, call: ChatCall, quote: Quote, signal: AbortSignal) {
  const outcomes: { provider: string; outcome: string }[] = [];
  for (const candidate of quote.plan.candidates) {
    const breaker = gw.breaker(candidate.provider);
    const provider = gw.providers.get(candidate.provider)!;
    if (!breaker.tryAcquire()) {
      outcomes.push({ provider: candidate.provider, outcome: "circuit_open" });
      continue;
    }
    let response: UpstreamResponse;
    try {
      const body = upstreamBody(call.request, candidate.model.upstreamId);
      response = await provider.chatCompletions({
        body,
        stream: isStream(call.request),
        timeouts: gw.options.timeouts,
        signal,
        model: candidate.model.id,
        ...(call.trace ? { headers: call.trace } : {}),
      });
    } catch (error) {
      if (signal.aborted) {
        breaker.release();
        throw new GatewayError("CLIENT.CLOSED", "the client closed the request");
      }
      breaker.failure();
      outcomes.push({ provider: candidate.provider, outcome: error instanceof UpstreamError ? error.kind : "error" });
      continue;
    }
    gw.latency.record(candidate.provider, candidate.model.id, response.firstByteMs);
    if (response.status >= 200 && response.status < 300) {
      breaker.success();
      return { candidate, response };
    }
    const rejected = CLIENT_ERRORS.get(response.status);
    if (rejected) {
      breaker.success();
      const message = await upstreamMessage(gw, response);
      throw new GatewayError(rejected, `${candidate.provider} rejected the request: ${message}`);
    }
    response.abort();
    breaker.failure();
    outcomes.push({ provider: candidate.provider, outcome: `http_${response.status}` });
  }
  throw new GatewayError("UPSTREAM.FAILED", `no provider could serve ${quote.plan.model}`, {}, { attempts: outcomes });
}

function refusal(error: unknown, gw: Gateway, caller: ChatCaller): unknown {
  if (!(error instanceof DomainError)) return error;
  // the gateway's own code: 402 here, while a debit beyond the balance (ACCOUNT.INSUFFICIENT_FUNDS) is 422
  if (error.kind === "insufficient_funds")
    return new GatewayError("GATEWAY.INSUFFICIENT_FUNDS", error.message, { "x-should-retry": "false" });
  if (error.code === "API_KEY.BUDGET_EXCEEDED") {
    // in-flight holds of this key may still be released; otherwise only a new budget helps
    const pending = gw.limiter.inFlight(caller.keyId) > 0;
    return new GatewayError(
      error.code,
      error.message,
      pending ? { "retry-after": "1" } : { "retry-after": "3600", "x-should-retry": "false" },
    );
  }
  return error;
}

export async function openChat(gw: Gateway, call: ChatCall): Promise<OpenChat> {
  const { caller } = call;
  const first = call.context();
  const quote = quoteChat(gw, call.request, {
    strategy: call.strategy,
    at: first.now,
    ...(call.provider ? { provider: call.provider } : {}),
  });
  const admission = await gw.limiter.admit(caller.keyId, caller.limits, quote.tokenEstimate);
  if (!admission.ok) throw new GatewayError(admission.code, admission.detail, { "retry-after": String(admission.retryAfterSeconds) });
  const { ticket } = admission;
  const id = randomUUID().replace(/-/g, "");
  const expiresAt = new Date(Date.parse(first.now) + gw.options.timeouts.totalMs + gw.options.holdMarginMs).toISOString();
  const hold: Hold = {
    userId: caller.userId,
    apiKeyId: caller.keyId,
    requestId: `req_${id}`,
    reservationId: `rsv_${id}`,
    // a draw of its own: the request id is shown to the client before the settlement records this id
    // (x-aggregator-request-id), so this one cannot be derived from it (settle: freshIds)
    usageId: `use_${randomUUID().replace(/-/g, "")}`,
    amount: quote.holdAmount,
    expiresAt,
    startedAt: first.now,
  };
  // The upstream call starts once the hold is decided, while its append is made durable; nothing goes
  // to the client before the hold is durable (holdDurable: the plain answer's settlement, a stream's
  // first chunk), so its fsync is off the latency path (a plain request's hold mostly shares the
  // settlement's append: plainHoldLingerMs). A hold that fails after its decision (the store
  // failed the append, or another instance's append made it be decided anew and refused) aborts the
  // upstream call; nothing is charged.
  let accepted!: () => void;
  const decided = new Promise<null>((resolve) => (accepted = () => resolve(null)));
  const upstream = abortedWith(call.signal); // or when the hold fails
  const lingerMs = isStream(call.request) ? 0 : gw.options.plainHoldLingerMs;
  const holding = reserve(gw.platform, { ...first, decided: accepted, lingerMs }, hold, caller.limits.budget).then(
    () => null,
    (error: unknown) => {
      upstream.abort();
      return { error };
    },
  );
  const early = await Promise.race([decided, holding]);
  if (early) throw refused(gw, caller, ticket, early);
  try {
    const answered = await attempt(gw, call, quote, upstream.signal);
    return { call, quote, hold, holding, ticket, ...answered };
  } catch (error) {
    await abandon(gw, { call, hold, holding, ticket }, call.signal.aborted ? "cancelled" : "failed");
    const failed = await holding;
    if (failed) throw refused(gw, caller, ticket, failed);
    throw error;
  }
}

/**
 * A controller also aborted when `signal` is (with its reason): AbortSignal.any does the same, but on Node 20
 * it costs ~30 µs per call (weak references, a finalization registry), measured: this ~6 µs. `signal` is the
 * request's own, so the listener goes with it.
 */
function abortedWith(signal: AbortSignal): AbortController {
  const controller = new AbortController();
  if (signal.aborted) controller.abort(signal.reason);
  else signal.addEventListener("abort", () => controller.abort(signal.reason), { once: true });
  return controller;
}

function refused(gw: Gateway, caller: ChatCaller, ticket: LimitTicket, failed: HoldFailure) {
  ticket.finish(0);
  return refusal(failed.error, gw, caller);
}

/** Waits until the hold is durable; a hold that failed ends the upstream response and throws why (nothing to release). */
export async function holdDurable(gw: Gateway, open: OpenChat) {
  const failed = await open.holding;
  if (!failed) return;
  open.response.abort();
  throw refused(gw, open.call.caller, open.ticket, failed);
}

/**
 * No charge: the hold is released and the request's tokens leave the rate window. The release is decided
 * at once, behind the hold (one append with it while it still lingers); a hold that was never written is
 * not active, so there is nothing to release and nothing to report.
 */
export async function abandon(gw: Gateway, open: Pick<OpenChat, "call" | "hold" | "holding" | "ticket">, reason: "failed" | "cancelled") {
  open.ticket.finish(0);
  try {
    await release(gw.platform, open.call.context(), open.hold, reason);
  } catch (error) {
    if (!(await open.holding)) gw.onError(error, "release");
  }
}

/**
 * Settles what the request is billed for; the tokens go into the key's rate window. The settlement is
 * decided at once, on the state the hold's append leaves, and appended behind it where the store chains
 * appends (SQLite): one commit often carries both, and the answer then waits for one fsync, not two. A
 * hold that fails makes the settlement fail too (it was decided behind it): nothing is charged.
 */
export async function charge(gw: Gateway, open: OpenChat, usage: TokenUsage) {
  const settling = settle(
    gw.platform,
    open.call.context(),
    open.hold,
    {
      provider: open.candidate.provider,
      model: open.candidate.model.id,
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      prices: open.candidate.prices,
      source: usage.source,
    },
    () => holdDurable(gw, open),
  );
  settling.catch(() => undefined); // read below, unless the hold failed (then holdDurable throws why)
  await holdDurable(gw, open);
  open.ticket.finish(usage.promptTokens + usage.completionTokens);
  return settling;
}

/**
 * A provider 2xx that cannot be served (not a completion, an error object, a credential echoed, cut
 * before its end): nothing is charged, the hold is released, the provider's breaker counts a failure.
 */
export async function refuseAnswer(gw: Gateway, open: OpenChat, why: Refusal | "incomplete"): Promise<GatewayError> {
  const { provider } = open.candidate;
  open.response.abort();
  if (!open.call.signal.aborted) gw.breaker(provider).failure();
  const anomaly = why === "incomplete" ? null : anomalyOf(why);
  if (anomaly) gw.anomaly(provider, anomaly);
  await abandon(gw, open, open.call.signal.aborted ? "cancelled" : "failed");
  return new GatewayError("UPSTREAM.INVALID_RESPONSE", `${provider} did not answer with a valid chat completion (${why})`);
}

/** A non-streamed answer: read it whole, check it, settle (durable); the caller sends `body`, the checked JSON. */
export async function finishPlain(gw: Gateway, open: OpenChat) {
  let body: string;
  try {
    body = (await readBody(open.response, gw.options.maxAnswerBytes)).toString("utf8");
  } catch {
    throw await refuseAnswer(gw, open, "incomplete");
  }
  const checked = checkAnswer(body, gw.leaks);
  if (!checked.ok) throw await refuseAnswer(gw, open, checked.why);
  const usage = plainUsage(checked.answer, open.quote.countedPrompt);
  const settled = await charge(gw, open, usage);
  return { body: checked.text, usage, cost: settled.cost };
}
