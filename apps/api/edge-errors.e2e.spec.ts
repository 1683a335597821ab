import { once } from "node:events";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testApp, type TestApp } from "../../test/harness/platform.ts";

// Errors raised before a route runs (Node's HTTP parser, fastify's router and body parser) answer
// problem+json like every other error, over a real socket: Node's clientError never reaches app.inject.

/** one raw HTTP/1.1 exchange; resolves with the status line, headers and body the server wrote */
async function raw(port: number, request: string) {
  const socket = connect(port, "127.0.0.1");
  await once(socket, "connect");
  socket.write(request);
  let text = "";
  socket.on("data", (d) => (text += d));
  await once(socket, "close");
  const [head = "", body = ""] = text.split("\r\n\r\n");
  return { status: Number(head.split(" ")[1]), head: head.toLowerCase(), body: body ? JSON.parse(body) : null };
}

describe("errors before a route: problem+json", () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await testApp();
    await t.app.listen({ port: 0, host: "127.0.0.1" });
    port = (t.app.server.address() as AddressInfo).port;
  });
  afterAll(() => t.close());

  const get = (url: string, headers: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${port}${url}`, { headers: { ...t.admin, ...headers } });
  const problemOf = async (res: Response) => {
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    return (await res.json()) as { status: number; code: string; detail: string };
  };

  it("bad percent-encoding is 400 REQUEST.URL_INVALID", async () => {
    const res = await get("/billing/balance/%ff%fe");
    expect(res.status).toBe(400);
    expect(await problemOf(res)).toMatchObject({ status: 400, code: "REQUEST.URL_INVALID" });
  });

  it("a path segment over 1 KiB is 414 REQUEST.URL_TOO_LONG, without echoing it", async () => {
    const res = await get(`/billing/balance/${"a".repeat(3000)}`);
    expect(res.status).toBe(414);
    const problem = await problemOf(res);
    expect(problem.code).toBe("REQUEST.URL_TOO_LONG");
    expect(problem.detail).not.toContain("aaaa");
  });

  it("an id over 128 characters but within the path limit is 400 naming the field", async () => {
    const res = await get(`/billing/balance/${"a".repeat(500)}`);
    expect(res.status).toBe(400);
    expect(await problemOf(res)).toMatchObject({ code: "REQUEST.INVALID" });
  });

  it("a request line and headers over 16 KiB are 431 REQUEST.HEADERS_TOO_LARGE, from Node's parser", async () => {
    const longUrl = await raw(port, `GET /billing/balance/${"a".repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(longUrl.status).toBe(431);
    expect(longUrl.head).toContain("content-type: application/problem+json");
    expect(longUrl.body).toMatchObject({ status: 431, code: "REQUEST.HEADERS_TOO_LARGE" });
    const longHeader = await raw(port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: ${"b".repeat(20_000)}\r\n\r\n`);
    expect(longHeader.body).toMatchObject({ status: 431, code: "REQUEST.HEADERS_TOO_LARGE" });
  });

  it("a request Node cannot parse is 400 REQUEST.MALFORMED", async () => {
    const garbage = await raw(port, "NOT HTTP AT ALL\r\n\r\n");
    expect(garbage.status).toBe(400);
    expect(garbage.body).toMatchObject({ status: 400, code: "REQUEST.MALFORMED" });
  });

  it("an unknown path is 404; a known path with another method is 405 with Allow", async () => {
    const missing = await fetch(`http://127.0.0.1:${port}/nope`);
    expect(missing.status).toBe(404);
    expect(await problemOf(missing)).toMatchObject({ code: "ROUTE.NOT_FOUND" });
    const wrong = await fetch(`http://127.0.0.1:${port}/billing/balance/alice`, { method: "PATCH", headers: t.admin });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET, HEAD");
    expect(await problemOf(wrong)).toMatchObject({ code: "ROUTE.METHOD_NOT_ALLOWED" });
  });

  it("bodies: bad JSON 400, another media type 415, too large 413, all problem+json", async () => {
    const post = (body: string, type: string) =>
      fetch(`http://127.0.0.1:${port}/billing/payment/process`, { method: "POST", headers: { ...t.admin, "content-type": type }, body });
    const cases = [
      { res: await post("{not json", "application/json"), status: 400, code: "REQUEST.JSON_INVALID" },
      { res: await post("amount=1", "application/x-www-form-urlencoded"), status: 415, code: "REQUEST.UNSUPPORTED_MEDIA_TYPE" },
      {
        res: await post(JSON.stringify({ userId: "x", amount: "1", pad: "x".repeat(2 * 1024 * 1024) }), "application/json"),
        status: 413,
        code: "REQUEST.TOO_LARGE",
      },
    ];
    for (const c of cases) {
      expect(c.res.status, c.code).toBe(c.status);
      expect(await problemOf(c.res), c.code).toMatchObject({ status: c.status, code: c.code });
    }
    expect(await t.platform.events.headPosition()).toBe(0);
  });

  it("keeps serving", async () => {
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
  });
});
