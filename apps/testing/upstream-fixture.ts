import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

// A local OpenAI-compatible upstream standing in for OpenAI and OpenRouter. One server serves every
// provider under its own prefix: base URL `${url}/${provider}/v1`. Replies are scripted per request
// (plain, streamed, delays, 4xx/5xx, cut streams, streams without usage) and every request is
// recorded as received, so tests can assert what reached "the provider": forced include_usage, the
// upstream key in the Authorization header and nowhere else.

export interface FixtureReply {
  /** default 200; >= 400 answers `errorBody` (default an OpenAI-style error) */
  status?: number;
  errorBody?: unknown;
  /** the completion; a stream sends one chunk per element (default ["Hello", " from", " fixture"]) */
  content?: string[];
  /** reported usage; null = none at all; default prompt 12, completion = number of chunks. Streams
   * report it only when the request asked for stream_options.include_usage, as OpenAI does. */
  usage?: { prompt_tokens: number; completion_tokens: number } | null;
  /** before the response headers */
  delayMs?: number;
  /** between stream chunks */
  chunkDelayMs?: number;
  /** stream: destroy the connection after this many content chunks (no finish, no usage, no [DONE]) */
  cutAfterChunks?: number;
  /** never answer (until the client gives up) */
  hang?: boolean;
  /** answer only once this settles (lets a test hold requests in flight, without timing) */
  gate?: Promise<unknown>;
  /** a 200 whose whole body is this text (JSON content type, or event-stream when streaming) instead of a completion */
  rawBody?: string;
  /** stream: raw text written just before content chunk i (i = content.length: before the finish chunk) */
  rawEvents?: Record<number, string>;
  /** extra response headers */
  headers?: Record<string, string>;
  /** echo the received Authorization header: as a response header, as a last content chunk (plain and
   * streamed), in the error body, in an SSE comment (a provider leaking our key in every way it can) */
  reflectAuthorization?: Array<"headers" | "content" | "error" | "comment">;
  /** stream: after this many content chunks send an error object instead of the rest (no finish, no
   * usage, no [DONE]), as OpenAI-compatible providers do mid-stream, then hold the connection open
   * until the client closes it */
  errorAfterChunks?: number;
  /** the error object sent by `errorAfterChunks` (default an OpenAI-style `{error: {...}}`) */
  streamError?: unknown;
  /** send that error as an SSE `event: error` (default: a plain `data:` line) */
  errorAsSseEvent?: boolean;
  /** stream: stop sending after this many content chunks and hold the connection open (a stalled
   * provider): only the client's own timeout ends it */
  stallAfterChunks?: number;
  /** stream: send the final `data: [DONE]` only once this settles (after finish and usage) */
  doneGate?: Promise<unknown>;
}

export interface ReceivedRequest {
  provider: string;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  body: Record<string, unknown> | null;
  /** set when the connection closed before the answer was complete (client abort, or a scripted cut) */
  aborted?: boolean;
}

export type Script = (request: ReceivedRequest) => FixtureReply | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function chunk(id: string, model: string, delta: Record<string, unknown>, finish: string | null = null) {
  return `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created: 1, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
}

/** the Authorization header the request carried (what a reflecting provider echoes) */
const authorizationOf = (res: ServerResponse) => String(res.req.headers.authorization ?? "");
/** `headers` of the reply, plus the echoed Authorization when asked to reflect it there */
const extraHeaders = (res: ServerResponse, reply: FixtureReply): Record<string, string> => ({
  ...reply.headers,
  ...(reply.reflectAuthorization?.includes("headers") ? { "x-echo-authorization": authorizationOf(res) } : {}),
});

async function stream(res: ServerResponse, reply: FixtureReply, body: Record<string, unknown>, content: string[]) {
  const model = String(body.model);
  const id = "chatcmpl-fixture";
  const wantsUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  // each write resolves once flushed to the socket, so a scripted cut happens after the bytes left
  const send = (text: string) => new Promise<void>((resolve) => (res.destroyed ? resolve() : res.write(text, () => resolve())));
  const cut = () => void res.socket?.destroy();
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", ...extraHeaders(res, reply) });
  await send(chunk(id, model, { role: "assistant", content: "" }));
  if (reply.reflectAuthorization?.includes("comment")) await send(`: ${authorizationOf(res)}\n\n`);
  for (const [i, text] of content.entries()) {
    if (reply.cutAfterChunks !== undefined && i >= reply.cutAfterChunks) return cut();
    if (reply.errorAfterChunks !== undefined && i >= reply.errorAfterChunks) return sendError(send, reply);
    if (reply.stallAfterChunks !== undefined && i >= reply.stallAfterChunks) return; // held open, silent
    if (reply.chunkDelayMs) await sleep(reply.chunkDelayMs);
    if (res.destroyed) return;
    const raw = reply.rawEvents?.[i];
    if (raw !== undefined) await send(raw);
    await send(chunk(id, model, { content: text }));
  }
  if (reply.cutAfterChunks !== undefined && reply.cutAfterChunks >= content.length) return cut();
  const beforeFinish = reply.rawEvents?.[content.length];
  if (beforeFinish !== undefined) await send(beforeFinish);
  if (reply.errorAfterChunks !== undefined) return sendError(send, reply);
  if (reply.stallAfterChunks !== undefined) return;
  await send(chunk(id, model, {}, "stop"));
  const usage = reply.usage === undefined ? { prompt_tokens: 12, completion_tokens: content.length } : reply.usage;
  if (usage && wantsUsage) {
    const total_tokens = usage.prompt_tokens + usage.completion_tokens;
    await send(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created: 1, model, choices: [], usage: { ...usage, total_tokens } })}\n\n`);
  }
  if (reply.doneGate) await reply.doneGate;
  res.end("data: [DONE]\n\n");
}

/** a mid-stream error as providers send it; the connection stays open: the client must end it */
async function sendError(send: (text: string) => Promise<void>, reply: FixtureReply) {
  const error = reply.streamError ?? { error: { message: "fixture: upstream overloaded mid-stream", type: "server_error", code: null } };
  await send(`${reply.errorAsSseEvent ? "event: error\n" : ""}data: ${JSON.stringify(error)}\n\n`);
}

function plain(res: ServerResponse, reply: FixtureReply, body: Record<string, unknown>, content: string[]) {
  const usage = reply.usage === undefined ? { prompt_tokens: 12, completion_tokens: content.length } : reply.usage;
  const answer = {
    id: "chatcmpl-fixture",
    object: "chat.completion",
    created: 1,
    model: String(body.model),
    choices: [{ index: 0, message: { role: "assistant", content: content.join("") }, finish_reason: "stop" }],
    ...(usage ? { usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } } : {}),
  };
  res.writeHead(200, { "content-type": "application/json", ...extraHeaders(res, reply) }).end(JSON.stringify(answer));
}

export async function startUpstreamFixture(script: Script = () => undefined, options: { port?: number; record?: boolean } = {}) {
  const received: ReceivedRequest[] = [];
  let current = script;
  const server = createServer(async (req, res) => {
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    const rawBody = Buffer.concat(parts).toString("utf8");
    let body: Record<string, unknown> | null = null;
    try {
      body = JSON.parse(rawBody) as Record<string, unknown>;
    } catch {
      body = null;
    }
    const match = /^\/([a-z0-9-]+)\/v1\/chat\/completions$/.exec(req.url ?? "");
    const request: ReceivedRequest = { provider: match?.[1] ?? "", method: req.method ?? "", url: req.url ?? "", headers: req.headers, rawBody, body };
    if (options.record !== false) received.push(request);
    res.on("close", () => {
      if (!res.writableFinished) request.aborted = true;
    });
    if (!match || req.method !== "POST" || !body) {
      return void res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "not found" } }));
    }
    const reply = current(request) ?? {};
    if (reply.hang) return;
    if (reply.gate) await reply.gate;
    if (reply.delayMs) await sleep(reply.delayMs);
    const status = reply.status ?? 200;
    const reflect = reply.reflectAuthorization ?? [];
    if (status >= 300) {
      const echo = reflect.includes("error") ? ` (you sent ${authorizationOf(res)})` : "";
      const error = reply.errorBody ?? { error: { message: `fixture error ${status}${echo}`, type: "server_error" } };
      return void res.writeHead(status, { "content-type": "application/json", ...extraHeaders(res, reply) }).end(JSON.stringify(error));
    }
    if (reply.rawBody !== undefined) {
      return void res.writeHead(200, { "content-type": body.stream === true ? "text/event-stream" : "application/json", ...extraHeaders(res, reply) }).end(reply.rawBody);
    }
    const content = [...(reply.content ?? ["Hello", " from", " fixture"]), ...(reflect.includes("content") ? [` ${authorizationOf(res)}`] : [])];
    if (body.stream === true) await stream(res, reply, body, content);
    else plain(res, reply, body, content);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    baseUrl: (provider: string) => `${url}/${provider}/v1`,
    /** replaces the script for the requests that follow */
    script(next: Script) {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type UpstreamFixture = Awaited<ReturnType<typeof startUpstreamFixture>>;
