import { sseData, sseEvent, SseSplitter } from "./sse.ts";
import { clientWantsUsage } from "./chat-request.ts";
import { abandon, charge, holdDurable, refuseAnswer, type OpenChat } from "./chat.ts";
import type { Gateway } from "./gateway.ts";
import { StreamMeter } from "./metering.ts";
import { GatewayError } from "./quote.ts";
import { anomalyOf, classifyEvent, type UpstreamEvent } from "./upstream-answer.ts";

// A streamed completion, passed on chunk by chunk as the provider sends it (no buffering past one
// SSE event). The response is committed only once the first valid completion chunk arrived: before
// that, anything else is a 502 that costs nothing. After it, only validated chunks are forwarded (as
// re-serialised JSON), upstream comments become our own keep-alive, data that is not JSON is dropped
// and counted. The provider's usage chunk is forced on (include_usage) and read on the way; the final
// `data: [DONE]` is held back until the settlement is durable, so a client that saw [DONE] was
// charged. A stream that breaks (provider cut, error event, invalid chunk, idle timeout) ends with an
// SSE error event instead of [DONE]; a client that leaves aborts the upstream request at once.

export interface StreamSink {
  /** false once the client is gone */
  isOpen(): boolean;
  /** writes one event, waiting for the client to drain when its buffer is full */
  write(bytes: Buffer): Promise<void>;
  end(bytes?: Buffer): void;
}

export interface StreamOutcome {
  completed: boolean;
  clientGone: boolean;
  charged: boolean;
  cost: number;
  source: "provider" | "counted" | null;
}

/** the upstream stream with its first valid chunk read */
export interface UpstreamStream {
  first: Extract<UpstreamEvent, { kind: "chunk" }>;
  rest: AsyncIterator<UpstreamEvent>;
}

const interrupted = sseEvent({
  error: {
    message: "the provider's stream was interrupted; you are charged for the tokens delivered",
    type: "upstream_error",
    code: "UPSTREAM.STREAM_INTERRUPTED",
  },
});
const settlementFailed = sseEvent({
  error: { message: "usage could not be recorded; retry the request", type: "server_error", code: "INTERNAL" },
});
const KEEP_ALIVE = Buffer.from(": keep-alive\n\n");

async function* upstreamEvents(gw: Gateway, open: OpenChat): AsyncGenerator<UpstreamEvent> {
  const splitter = new SseSplitter();
  for await (const bytes of open.response.body) {
    for (const event of splitter.push(bytes)) {
      const classified = classifyEvent(sseData(event), gw.leaks);
      if (classified.kind === "junk")
        gw.anomaly(open.candidate.provider, "non_json_event"); // dropped, never forwarded
      else yield classified;
    }
  }
}

/** Reads until the first valid chunk; a stream that has none is refused (502, no charge, hold released). */
export async function openStream(gw: Gateway, open: OpenChat): Promise<UpstreamStream> {
  const rest = upstreamEvents(gw, open);
  for (;;) {
    let next: IteratorResult<UpstreamEvent>;
    try {
      next = await rest.next();
    } catch {
      if (open.call.signal.aborted) {
        await abandon(gw, open, "cancelled");
        throw new GatewayError("CLIENT.CLOSED", "the client closed the request");
      }
      throw await refuseAnswer(gw, open, "incomplete");
    }
    if (next.done) throw await refuseAnswer(gw, open, "incomplete");
    const event = next.value;
    if (event.kind === "chunk") {
      await holdDurable(gw, open); // the first byte to the client commits the response
      return { first: event, rest };
    }
    if (event.kind === "refused") throw await refuseAnswer(gw, open, event.why);
    if (event.kind === "done") throw await refuseAnswer(gw, open, "incomplete"); // [DONE] without a single chunk
    // comments before the first chunk: nothing to keep alive yet
  }
}

export async function pipeStream(gw: Gateway, open: OpenChat, upstream: UpstreamStream, sink: StreamSink): Promise<StreamOutcome> {
  const meter = new StreamMeter(clientWantsUsage(open.call.request));
  let broken = false;
  let refused = false;
  try {
    for (let event: UpstreamEvent = upstream.first; ;) {
      if (event.kind === "refused") {
        refused = true; // never passed through: an error body may carry internals, an echo our credential
        const anomaly = anomalyOf(event.why);
        if (anomaly) gw.anomaly(open.candidate.provider, anomaly);
        break;
      }
      if (event.kind === "done") meter.done = true; // [DONE] waits for the settlement
      if (event.kind === "comment" || event.kind === "chunk") {
        if (!sink.isOpen()) break;
        if (event.kind === "comment") await sink.write(KEEP_ALIVE);
        else {
          const observed = meter.observe(event.chunk);
          // a credential split across chunks is refused when the chunk that completes it arrives
          if (observed.output && gw.leaks(meter.recent + observed.output)) {
            refused = true;
            gw.anomaly(open.candidate.provider, "credential_echo");
            break;
          }
          if (observed.action === "forward") {
            await sink.write(sseEvent(event.text));
            meter.deliver(observed);
          }
        }
      }
      const next = await upstream.rest.next();
      if (next.done) break;
      event = next.value;
    }
  } catch {
    broken = true; // reset, timeout, or the client's abort
  }
  await upstream.rest.return?.(undefined).catch(() => undefined); // ends the upstream read (its timers) when we stopped early
  const clientGone = !sink.isOpen();
  const completed = !broken && !refused && !clientGone && (meter.done || meter.finished || meter.usage !== null);
  if (!completed) open.response.abort();
  if (!completed && !clientGone) gw.breaker(open.candidate.provider).failure();

  const usage = meter.billable(open.quote.countedPrompt);
  let cost = 0;
  try {
    if (usage) cost = (await charge(gw, open, usage)).cost;
    else await abandon(gw, open, clientGone ? "cancelled" : "failed");
  } catch (error) {
    gw.onError(error, "stream settlement");
    if (sink.isOpen()) sink.end(settlementFailed);
    return { completed: false, clientGone, charged: false, cost: 0, source: null };
  }
  if (!sink.isOpen()) sink.end();
  else sink.end(completed ? sseEvent("[DONE]") : interrupted);
  return { completed, clientGone, charged: usage !== null, cost, source: usage?.source ?? null };
}
