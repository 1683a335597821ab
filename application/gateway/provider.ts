// The upstream port of the gateway: one OpenAI-compatible chat-completions endpoint per provider.
// The gateway decides routing, billing and retries; an adapter only moves bytes and classifies failures.
// Pitfall (OWASP LLM02, litellm #15799): the provider key travels in the Authorization header only,
// and no message an adapter produces contains it, the URL's credentials or the upstream body.

export interface UpstreamTimeouts {
  /** TCP (and TLS) connect */
  connectMs: number;
  /** request sent → response headers; for a non-streamed completion this is the whole generation */
  firstByteMs: number;
  /** longest silence between two body chunks */
  idleMs: number;
  /** whole exchange, body included */
  totalMs: number;
}

export interface UpstreamRequest {
  /** the JSON body, already rewritten for this provider (model id, stream_options) */
  body: string;
  stream: boolean;
  timeouts: UpstreamTimeouts;
  /** aborting it (client gone) destroys the upstream request at once */
  signal?: AbortSignal;
  /** the catalog's model id (the body carries the provider's own id): labels metrics and spans */
  model?: string;
  /** extra request headers, sent as given: the trace context (traceparent, tracestate); never credentials */
  headers?: Readonly<Record<string, string>>;
}

export interface UpstreamResponse {
  status: number;
  contentType: string;
  /** ms from sending the request to the response headers */
  firstByteMs: number;
  /** the body chunk by chunk, as the provider sent it; throws UpstreamError on reset, idle or total timeout */
  body: AsyncIterable<Buffer>;
  /** drops the connection (the socket is not reused) */
  abort(): void;
}

export type UpstreamFailure = "connect" | "timeout" | "reset" | "aborted" | "too_large";

/** A transport failure; `message` is safe to log and to show (no key, no URL credentials, no body). */
export class UpstreamError extends Error {
  constructor(
    readonly kind: UpstreamFailure,
    message: string,
    /** true when the provider cannot have started work (connect refused): a retry cannot double anything */
    readonly beforeRequest = false,
  ) {
    super(message);
    this.name = "UpstreamError";
  }
}

export interface ChatProvider {
  readonly id: string;
  /** false when no API key is configured: the router skips it */
  readonly configured: boolean;
  chatCompletions(request: UpstreamRequest): Promise<UpstreamResponse>;
  /** `text` with every occurrence of this provider's credential replaced by "[redacted]" (the gateway's leak check) */
  redact(text: string): string;
  close(): void;
}

/** Reads a (small) body into one buffer, refusing more than `limit` bytes. */
export async function readBody(response: UpstreamResponse, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.length;
    if (size > limit) {
      response.abort();
      throw new UpstreamError("too_large", `upstream body larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
