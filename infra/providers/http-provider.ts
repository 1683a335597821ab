import { performance } from "node:perf_hooks";
import type { Pool } from "undici";
import { UpstreamError, type ChatProvider, type UpstreamRequest, type UpstreamResponse } from "../../application/gateway/provider.ts";

// An OpenAI-compatible provider on an undici keep-alive pool (no vendor SDK on the hot path).
// Timeouts: connect is the pool's (one pool per distinct connectMs, in practice one); response headers
// (firstByteMs) and the silence between body chunks (idleMs) are undici's per-request timers; the
// whole exchange (totalMs) and the caller's abort end the request through one AbortController, which
// destroys its connection (never reused).
// Retry rule: only a request whose reused keep-alive socket was closed with no response at all (the
// server dropped an idle connection as we reused it) is sent again, once, on a fresh connection.
// Redirects are never followed (a 3xx is an answer like any other), so a base URL cannot bounce us
// to an internal address. The key travels in the Authorization header only; no error message carries
// it, the URL or the upstream body.

export interface HttpProviderOptions {
  id: string;
  baseUrl: string;
  apiKey?: string;
  /** extra fixed headers (OpenRouter attribution) */
  headers?: Record<string, string>;
  /** connections per pool */
  maxSockets?: number;
}

const CONNECT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL"]);
/** an idle pooled connection is closed after this long (undici also honours a shorter server Keep-Alive hint) */
const KEEP_ALIVE_MS = 4_000;

// undici (~1 MB of code, ~50 ms of CPU to load) loads with the first request to any provider, not at start
let PoolClass: typeof Pool | undefined;

type Cause = Error & { code?: string; socket?: { bytesRead?: number } };

/** undici's errors as the port's kinds; messages name the provider and a code, nothing else */
function classify(id: string, error: unknown, timeouts: UpstreamRequest["timeouts"]): UpstreamError {
  if (error instanceof UpstreamError) return error; // our own abort reasons (total timeout, caller gone)
  const code = (error as Cause).code ?? "ERROR";
  if (code === "UND_ERR_CONNECT_TIMEOUT") return new UpstreamError("timeout", `${id}: connect timed out after ${timeouts.connectMs} ms`);
  if (code === "UND_ERR_HEADERS_TIMEOUT") return new UpstreamError("timeout", `${id}: response timed out after ${timeouts.firstByteMs} ms`);
  if (code === "UND_ERR_BODY_TIMEOUT") return new UpstreamError("timeout", `${id}: body timed out after ${timeouts.idleMs} ms`);
  if (CONNECT_CODES.has(code)) return new UpstreamError("connect", `${id}: ${code}`, true);
  return new UpstreamError("reset", `${id}: ${code === "UND_ERR_SOCKET" ? "connection lost" : code}`);
}

export function createHttpProvider(options: HttpProviderOptions): ChatProvider {
  const { id } = options;
  const url = new URL(options.baseUrl);
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`provider ${id}: base URL must be http or https`);
  if (url.username || url.password) throw new Error(`provider ${id}: credentials in the base URL are refused; set the API key variable`);
  if (url.search || url.hash) throw new Error(`provider ${id}: the base URL must not carry a query or fragment`);
  const path = `${url.pathname.replace(/\/+$/, "")}/chat/completions`;
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "ai-aggregator-gateway",
    ...options.headers,
    ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
  };
  const pools = new Map<number, Pool>();
  const poolFor = (connectMs: number) => {
    let pool = pools.get(connectMs);
    if (!pool) {
      pool = new PoolClass!(url.origin, {
        connections: options.maxSockets ?? 256,
        keepAliveTimeout: KEEP_ALIVE_MS,
        connect: { timeout: connectMs },
      });
      pools.set(connectMs, pool);
    }
    return pool;
  };

  async function once(req: UpstreamRequest, retry: boolean): Promise<UpstreamResponse> {
    const { timeouts, signal } = req;
    const started = performance.now();
    const controller = new AbortController();
    const end = (reason: UpstreamError) => controller.abort(reason);
    const onAbort = () => end(new UpstreamError("aborted", `${id}: request aborted`));
    if (signal?.aborted) throw new UpstreamError("aborted", `${id}: request aborted`);
    signal?.addEventListener("abort", onAbort, { once: true });
    const total = setTimeout(
      () => end(new UpstreamError("timeout", `${id}: no complete answer within ${timeouts.totalMs} ms`)),
      timeouts.totalMs,
    );
    const clear = () => {
      clearTimeout(total);
      signal?.removeEventListener("abort", onAbort);
    };
    let answer;
    try {
      answer = await poolFor(timeouts.connectMs).request({
        path,
        method: "POST",
        // the trace context first; the fixed headers (the key among them) win
        headers: { ...req.headers, ...headers, accept: req.stream ? "text/event-stream" : "application/json" },
        body: req.body,
        signal: controller.signal,
        headersTimeout: timeouts.firstByteMs,
        bodyTimeout: timeouts.idleMs,
      });
    } catch (error) {
      clear();
      const stale = (error as Cause).code === "UND_ERR_SOCKET" && ((error as Cause).socket?.bytesRead ?? 0) > 0;
      if (retry && stale && !controller.signal.aborted) return once(req, false);
      throw classify(id, controller.signal.aborted ? controller.signal.reason : error, timeouts);
    }
    const firstByteMs = performance.now() - started;
    const incoming = answer.body;
    async function* body(): AsyncGenerator<Buffer> {
      try {
        for await (const chunk of incoming) yield chunk as Buffer;
      } catch (error) {
        throw classify(id, controller.signal.aborted ? controller.signal.reason : error, timeouts);
      } finally {
        clear();
        if (!incoming.destroyed) incoming.destroy(); // left early: the connection is not reused
      }
    }
    return {
      status: answer.statusCode,
      contentType: String(answer.headers["content-type"] ?? ""),
      firstByteMs,
      body: body(),
      abort: () => {
        clear();
        if (!controller.signal.aborted) end(new UpstreamError("aborted", `${id}: request aborted`));
      },
    };
  }

  return {
    id,
    configured: Boolean(options.apiKey),
    chatCompletions: async (req) => {
      PoolClass ??= (await import("undici")).default.Pool; // a CommonJS package: its exports are the default
      return once(req, true);
    },
    redact: (text) => (options.apiKey && text.includes(options.apiKey) ? text.replaceAll(options.apiKey, "[redacted]") : text),
    close: () => {
      for (const pool of pools.values()) void pool.destroy().catch(() => undefined);
      pools.clear();
    },
  };
}
