import { sseData, sseEvent, SseSplitter } from "../../infra/providers/sse.ts";
import { clientWantsUsage } from "./chat-request.ts";
import { abandon, charge, type OpenChat } from "./chat.ts";
import type { Gateway } from "./gateway.ts";
import { StreamMeter } from "./metering.ts";

// A streamed completion, passed through event by event as the provider sends it (no buffering past
// one SSE event). The provider's usage chunk is forced on (include_usage) and read on the way; the
// final `data: [DONE]` is held back until the settlement is durable, so a client that saw [DONE] was
// charged. A stream that breaks (provider cut, error event, idle timeout) ends with an SSE error event
// instead of [DONE]; a client that leaves aborts the upstream request at once.

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

const interrupted = sseEvent({
  error: { message: "the provider's stream was interrupted; you are charged for the tokens delivered", type: "upstream_error", code: "UPSTREAM.STREAM_INTERRUPTED" },
});
const settlementFailed = sseEvent({ error: { message: "usage could not be recorded; retry the request", type: "server_error", code: "INTERNAL" } });

export async function pipeStream(gw: Gateway, open: OpenChat, sink: StreamSink): Promise<StreamOutcome> {
  const meter = new StreamMeter(clientWantsUsage(open.call.request));
  const splitter = new SseSplitter();
  let broken = false;
  let upstreamError = false;
  try {
    read: for await (const chunk of open.response.body) {
      for (const event of splitter.push(chunk)) {
        const observed = meter.observe(sseData(event));
        if (observed.action === "error") {
          upstreamError = true; // an upstream error body is never passed through (it may carry internals)
          break read;
        }
        if (observed.action !== "forward") continue; // [DONE] waits for the settlement
        if (!sink.isOpen()) break read;
        await sink.write(event);
        meter.deliver(observed);
      }
    }
  } catch {
    broken = true; // reset, timeout, or the client's abort
  }
  const clientGone = !sink.isOpen();
  const completed = !broken && !upstreamError && !clientGone && (meter.done || meter.finished || meter.usage !== null);
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
