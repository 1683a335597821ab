import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { performance } from "node:perf_hooks";
import { UpstreamError, type ChatProvider, type UpstreamRequest, type UpstreamResponse } from "../../application/gateway/provider.ts";

// An OpenAI-compatible provider over node:http(s) with a keep-alive pool (no vendor SDK on the hot path).
// Retry rule: only a request whose reused keep-alive socket was already closed by the server (reset
// before any response) is sent again, once, on a fresh socket: the provider cannot have seen it.
// Redirects are never followed (a 3xx is an answer like any other), so a base URL cannot bounce us
// to an internal address.

export interface HttpProviderOptions {
  id: string;
  baseUrl: string;
  apiKey?: string;
  /** extra fixed headers (OpenRouter attribution) */
  headers?: Record<string, string>;
  maxSockets?: number;
}

const CONNECT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL"]);

class StaleSocket extends Error {}

export function createHttpProvider(options: HttpProviderOptions): ChatProvider {
  const { id } = options;
  const url = new URL(options.baseUrl);
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`provider ${id}: base URL must be http or https`);
  if (url.username || url.password) throw new Error(`provider ${id}: credentials in the base URL are refused; set the API key variable`);
  if (url.search || url.hash) throw new Error(`provider ${id}: the base URL must not carry a query or fragment`);
  const secure = url.protocol === "https:";
  const agentOptions = {
    keepAlive: true,
    keepAliveMsecs: 1000,
    maxSockets: options.maxSockets ?? 256,
    maxFreeSockets: 256,
    scheduling: "lifo" as const,
  };
  const agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  const send = secure ? https.request : http.request;
  const target = {
    hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port || (secure ? 443 : 80),
    path: `${url.pathname.replace(/\/+$/, "")}/chat/completions`,
  };
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "ai-aggregator-gateway",
    ...options.headers,
    ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
  };

  function once(req: UpstreamRequest): Promise<UpstreamResponse> {
    const { timeouts, signal } = req;
    return new Promise((resolve, reject) => {
      const started = performance.now();
      let answered = false;
      let failure: UpstreamError | undefined;
      let response: IncomingMessage | undefined;
      let phase: NodeJS.Timeout | undefined;
      const out = send({
        ...target,
        agent,
        method: "POST",
        headers: {
          ...req.headers, // the trace context; the fixed headers below (the key among them) win
          ...headers,
          accept: req.stream ? "text/event-stream" : "application/json",
          "content-length": String(Buffer.byteLength(req.body)),
        },
      });
      const clear = () => {
        clearTimeout(phase);
        phase = undefined; // never refresh() a cleared timer: that would re-arm it
        clearTimeout(total);
        signal?.removeEventListener("abort", onAbort);
      };
      const fail = (error: UpstreamError) => {
        if (failure) return;
        failure = error;
        clear();
        response?.destroy(error);
        out.destroy(error);
        if (!answered) {
          answered = true;
          reject(error);
        }
      };
      let armed = "";
      const arm = (ms: number, what: string) => {
        if (phase && armed === what) return void phase.refresh(); // per body chunk: no new timer
        clearTimeout(phase);
        armed = what;
        phase = setTimeout(() => fail(new UpstreamError("timeout", `${id}: ${what} timed out after ${ms} ms`)), ms);
      };
      const total = setTimeout(
        () => fail(new UpstreamError("timeout", `${id}: no complete answer within ${timeouts.totalMs} ms`)),
        timeouts.totalMs,
      );
      const onAbort = () => fail(new UpstreamError("aborted", `${id}: request aborted`));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });

      out.on("socket", (socket) => {
        if (!socket.connecting) return arm(timeouts.firstByteMs, "response");
        arm(timeouts.connectMs, "connect");
        socket.once("connect", () => arm(timeouts.firstByteMs, "response"));
      });
      out.on("error", (error: NodeJS.ErrnoException) => {
        if (failure || answered) return;
        answered = true;
        clear();
        if (out.reusedSocket && (error.code === "ECONNRESET" || error.code === "EPIPE")) return reject(new StaleSocket());
        const code = error.code ?? "ERROR";
        reject(new UpstreamError(CONNECT_CODES.has(code) ? "connect" : "reset", `${id}: ${code}`, CONNECT_CODES.has(code)));
      });
      out.on("response", (incoming) => {
        response = incoming;
        answered = true;
        const firstByteMs = performance.now() - started;
        async function* body(): AsyncGenerator<Buffer> {
          arm(timeouts.idleMs, "body");
          try {
            for await (const chunk of incoming) {
              arm(timeouts.idleMs, "body");
              yield chunk as Buffer;
            }
          } catch (error) {
            throw failure ?? (error instanceof UpstreamError ? error : new UpstreamError("reset", `${id}: connection lost mid-body`));
          } finally {
            clear();
            if (!incoming.complete) incoming.destroy();
          }
        }
        resolve({
          status: incoming.statusCode ?? 502,
          contentType: String(incoming.headers["content-type"] ?? ""),
          firstByteMs,
          body: body(),
          abort: () => fail(new UpstreamError("aborted", `${id}: request aborted`)),
        });
      });
      out.end(req.body);
    });
  }

  return {
    id,
    configured: Boolean(options.apiKey),
    async chatCompletions(req) {
      try {
        return await once(req);
      } catch (error) {
        if (error instanceof StaleSocket) return once(req);
        throw error;
      }
    },
    redact: (text) => (options.apiKey && text.includes(options.apiKey) ? text.replaceAll(options.apiKey, "[redacted]") : text),
    close: () => agent.destroy(),
  };
}
