import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpProvider } from "./http-provider.ts";
import { readBody, UpstreamError, type UpstreamTimeouts } from "../../application/gateway/provider.ts";

// The adapter against a bare local HTTP server (infra/ cannot use the apps/ fixture).

const KEY = "provider-secret-0123456789";
const timeouts: UpstreamTimeouts = { connectMs: 1000, firstByteMs: 2000, idleMs: 2000, totalMs: 5000 };
type Handler = (req: IncomingMessage, res: ServerResponse) => void;

describe("http provider", () => {
  let handler: Handler = (_req, res) => res.end("{}");
  const seen: { url: string; headers: IncomingMessage["headers"]; port: number }[] = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? "", headers: req.headers, port: req.socket.remotePort ?? 0 });
    req.resume();
    req.on("end", () => handler(req, res));
  });
  let base = "";
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));

  it("posts to {base}/chat/completions with the key in Authorization only, over a kept-alive socket", async () => {
    handler = (_req, res) => res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    const provider = createHttpProvider({ id: "p", baseUrl: base, apiKey: KEY, headers: { "x-title": "t" } });
    const first = await provider.chatCompletions({ body: "{}", stream: false, timeouts });
    expect(first.status).toBe(200);
    expect((await readBody(first, 1000)).toString()).toBe('{"ok":true}');
    for (let i = 0; i < 3; i++) await readBody(await provider.chatCompletions({ body: "{}", stream: false, timeouts }), 1000);
    const [a] = seen.slice(-4);
    expect(a!.url).toBe("/v1/chat/completions");
    expect(a!.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(a!.headers["x-title"]).toBe("t");
    expect(JSON.stringify({ ...a!.headers, authorization: undefined }) + a!.url).not.toContain(KEY);
    const ports = seen.slice(-4).map((s) => s.port);
    expect(new Set(ports).size).toBeLessThan(ports.length); // pooled connections are reused
    expect(provider.configured).toBe(true);
    expect(createHttpProvider({ id: "q", baseUrl: base }).configured).toBe(false);
    provider.close();
  });

  it("classifies failures without leaking the address or the key", async () => {
    const refused = createHttpProvider({ id: "p", baseUrl: "http://127.0.0.1:1/v1", apiKey: KEY });
    const error = await refused.chatCompletions({ body: "{}", stream: false, timeouts }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ kind: "connect", beforeRequest: true, message: "p: ECONNREFUSED" });

    handler = () => undefined; // never answers
    const slow = createHttpProvider({ id: "p", baseUrl: base, apiKey: KEY });
    const timedOut = await slow
      .chatCompletions({ body: "{}", stream: false, timeouts: { ...timeouts, firstByteMs: 50 } })
      .catch((e: unknown) => e);
    expect(timedOut).toMatchObject({ kind: "timeout" });
    expect(String((timedOut as Error).message)).not.toContain(KEY);
    slow.close();
  });

  it("a body cut midway or gone idle throws UpstreamError; the caller's abort stops the request", async () => {
    const provider = createHttpProvider({ id: "p", baseUrl: base, apiKey: KEY });
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: 1\n\n", () => res.socket?.destroy());
    };
    const cut = await provider.chatCompletions({ body: "{}", stream: true, timeouts });
    await expect(readBody(cut, 1000)).rejects.toMatchObject({ kind: "reset" });

    handler = (_req, res) => res.writeHead(200).write("data: 1\n\n"); // then silence
    const idle = await provider.chatCompletions({ body: "{}", stream: true, timeouts: { ...timeouts, idleMs: 50 } });
    await expect(readBody(idle, 1000)).rejects.toMatchObject({ kind: "timeout" });

    const controller = new AbortController();
    const open = await provider.chatCompletions({ body: "{}", stream: true, timeouts, signal: controller.signal });
    const reading = readBody(open, 1000);
    controller.abort();
    await expect(reading).rejects.toMatchObject({ kind: "aborted" });
    provider.close();
  });

  it("a caller already gone sends nothing; the whole-exchange timeout ends a body that never stops", async () => {
    const provider = createHttpProvider({ id: "p", baseUrl: base, apiKey: KEY });
    const count = seen.length;
    const gone = await provider
      .chatCompletions({ body: "{}", stream: true, timeouts, signal: AbortSignal.abort() })
      .catch((e: unknown) => e);
    expect(gone).toMatchObject({ kind: "aborted" }); // (node:http once crashed the process here: 'error' emitted before a listener)
    expect(seen.length).toBe(count);

    let ticker: NodeJS.Timeout | undefined;
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      ticker = setInterval(() => res.write("data: 1\n\n"), 10); // never idle, never done
      res.on("close", () => clearInterval(ticker));
    };
    const endless = await provider.chatCompletions({ body: "{}", stream: true, timeouts: { ...timeouts, totalMs: 150 } });
    const error = await readBody(endless, 1 << 20).catch((e: unknown) => e);
    clearInterval(ticker);
    expect(error).toMatchObject({ kind: "timeout", message: "p: no complete answer within 150 ms" });
    provider.close();
  });

  it("sends again, once, a request whose reused connection the server closed unanswered; never one on a fresh connection", async () => {
    const provider = createHttpProvider({ id: "p", baseUrl: base, apiKey: KEY, maxSockets: 1 });
    const answered = new Set<unknown>();
    handler = (req, res) => {
      if (answered.has(req.socket)) return void req.socket.destroy(); // an idle connection closed as it is reused
      answered.add(req.socket);
      res.writeHead(200, { "content-type": "application/json" }).end('{"n":1}');
    };
    await readBody(await provider.chatCompletions({ body: "{}", stream: false, timeouts }), 1000);
    const count = seen.length;
    const again = await provider.chatCompletions({ body: "{}", stream: false, timeouts });
    expect((await readBody(again, 1000)).toString()).toBe('{"n":1}');
    expect(seen.length - count).toBe(2); // the lost one, then the retry on a new connection

    handler = (req) => void req.socket.destroy(); // every connection closed unanswered, the fresh one too
    const lost = await provider.chatCompletions({ body: "{}", stream: false, timeouts }).catch((e: unknown) => e);
    expect(lost).toMatchObject({ kind: "reset", beforeRequest: false });
    expect(String((lost as Error).message)).not.toContain("127.0.0.1");
    provider.close();
  });

  it("refuses base URLs with credentials or odd schemes", () => {
    expect(() => createHttpProvider({ id: "p", baseUrl: "http://user:pw@127.0.0.1/v1" })).toThrow(/credentials/);
    expect(() => createHttpProvider({ id: "p", baseUrl: "file:///etc/passwd" })).toThrow(/http or https/);
  });
});
