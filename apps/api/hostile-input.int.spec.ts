import fc from "fast-check";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGatewayHarness, type GatewayHarness } from "../../test/harness/gateway-harness.ts";
import { MAX_JSON_DEPTH } from "../../application/gateway/json-depth.ts";
import { ID_PATTERN } from "./schemas.ts";

// Hostile bodies, ids, bytes and positions: each is a 4xx problem+json with a stable code, appends
// nothing, changes no read model, reaches no provider, and the next ordinary request is served.

const nested = (levels: number, inner = "") => "[".repeat(levels) + inner + "]".repeat(levels);
const DEEP = nested(20_000); // 40 KB, 20,000 levels
const chat = (extra: string, messages = '[{"role":"user","content":"hi"}]') => `{"model":"gpt-4o-mini","messages":${messages}${extra}}`;
const PASS_THROUGH: Record<string, string> = {
  tools: chat(`,"tools":${DEEP}`),
  metadata: chat(`,"metadata":{"trace":${DEEP}}`),
  tool_calls: chat(
    "",
    `[{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":${DEEP}}]},{"role":"user","content":"hi"}]`,
  ),
};
const GATEWAY_ROUTES = [
  "/v1/chat/completions",
  "/proxy/openai/chat/completions",
  "/proxy/openrouter/chat/completions",
  "/proxy/validate-request",
];
/** each POST route: a body with 20,000 levels somewhere, and an ordinary body sent afterwards with the same Idempotency-Key */
const POST_BODIES: Record<string, [string, object]> = {
  "/billing/payment/process": [`{"userId":"alice","amount":"1","metadata":${DEEP}}`, { userId: "alice", amount: "0.01" }],
  "/billing/payment/refund": [`{"userId":"alice","paymentId":"p1","metadata":${DEEP}}`, { userId: "alice", paymentId: "no-such-payment" }],
  "/billing/transaction": [
    `{"userId":"alice","type":"credit","amount":"1","metadata":${DEEP}}`,
    { userId: "alice", type: "credit", amount: "0.01" },
  ],
  "/billing/usage/track": [
    `{"userId":"alice","provider":"openai","model":"gpt-4o-mini","promptTokens":1,"completionTokens":1,"metadata":${DEEP}}`,
    { userId: "alice", provider: "openai", model: "gpt-4o-mini", promptTokens: 1, completionTokens: 1 },
  ],
  "/auth/api-keys": [`{"userId":"alice","name":"deep","limits":${DEEP}}`, { userId: "alice", name: "after-deep" }],
  "/analytics/track-event": [`{"name":"deep","properties":{"p":${DEEP}}}`, { name: "after-deep" }],
  "/analytics/events/track": [`{"name":"deep","properties":${DEEP}}`, { name: "after-deep" }],
  "/orchestrator/route-request": [`{"model":"gpt-4o-mini","metadata":${DEEP}}`, { model: "gpt-4o-mini" }],
};

describe("hostile input", () => {
  let h: GatewayHarness;
  let key: string;
  let head: number;
  beforeAll(async () => {
    h = await startGatewayHarness();
    await h.fund("alice", "10");
    key = (await h.key("alice")).key;
    await h.t.platform.projector.catchUp(5000);
  });
  afterAll(() => h.close());

  const json = { "content-type": "application/json" };
  const post = (url: string, payload: string | Buffer, headers: Record<string, string> = h.t.admin) =>
    h.t.app.inject({ method: "POST", url, headers: { ...headers, ...json }, payload });
  /** what a refused request must leave untouched: the event store, the read models, the providers */
  const snapshot = async () => ({
    caughtUp: await h.t.platform.projector.catchUp(5000),
    head: await h.t.platform.events.headPosition(),
    documents: (await h.t.app.inject({ url: "/analytics/stats/collection", headers: h.t.admin })).json(),
    upstreamCalls: h.fixture.received.length,
  });
  const expectProblem = (res: LightMyRequestResponse, status: number, code: string) => {
    expect({ status: res.statusCode, code: res.json().code }).toEqual({ status, code });
    expect(res.headers["content-type"]).toContain("application/problem+json");
  };

  describe("depth", () => {
    it.each(GATEWAY_ROUTES.flatMap((url) => Object.keys(PASS_THROUGH).map((field) => [url, field])))(
      "%s with 20,000 levels in %s: 400, nothing stored or sent, still serving",
      async (url, field) => {
        const before = await snapshot();
        expectProblem(await post(url, PASS_THROUGH[field]!, h.t.bearer(key)), 400, "REQUEST.TOO_DEEP");
        expect(await snapshot()).toEqual(before);
        const normal = await post(url, chat(""), h.t.bearer(key));
        expect(normal.statusCode).toBe(200);
      },
    );

    it.each(Object.entries(POST_BODIES))(
      "POST %s with 20,000 levels: 400, the Idempotency-Key stays unclaimed",
      async (url, [deep, ordinary]) => {
        const before = await snapshot();
        const idem = { ...h.t.admin, "idempotency-key": `deep-${url}` };
        expectProblem(await post(url, deep, idem), 400, "REQUEST.TOO_DEEP");
        expect(await snapshot()).toEqual(before);
        // the same key with another body would be 422 IDEMPOTENCY.KEY_REUSED had the refused request claimed it
        const normal = await post(url, JSON.stringify(ordinary), idem);
        if (url === "/billing/payment/refund")
          expect(normal.statusCode).toBe(404); // decided (unknown payment), not refused as a reused key
        else expect(normal.statusCode).toBeLessThan(300);
      },
    );

    it(`a tool schema nested to the limit (${MAX_JSON_DEPTH} levels in all) passes through; one more level is refused`, async () => {
      // the body object, the tools array, the tool and its function object take 4 levels
      const at = chat(`,"tools":[{"type":"function","function":{"parameters":${nested(MAX_JSON_DEPTH - 4)}}}]`);
      const ok = await post("/proxy/validate-request", at, h.t.bearer(key));
      expect(ok.statusCode).toBe(200);
      const over = chat(`,"tools":[{"type":"function","function":{"parameters":${nested(MAX_JSON_DEPTH - 3)}}}]`);
      expectProblem(await post("/proxy/validate-request", over, h.t.bearer(key)), 400, "REQUEST.TOO_DEEP");
    });
  });

  describe("ids", () => {
    const BAD = [
      ".",
      "..",
      "a/b",
      "../alice",
      "a\u0000b",
      "line\nfeed",
      "tab\tid",
      "del\u007f",
      "x".repeat(129),
      "-rf",
      "",
      " alice",
      "alice ",
      "é",
      "a\u202eb",
      "%2e%2e",
    ];
    const GOOD = ["a", "_x", "user@example.com", "acct:1.2-3", "x".repeat(128), "0"];

    it.each(BAD.map((id) => [JSON.stringify(id), id]))("id %s is refused in every body that names one", async (_label, bad) => {
      const before = await snapshot();
      const bodies: Array<[string, object]> = [
        ["/billing/payment/process", { userId: bad, amount: "1" }],
        ["/billing/payment/process", { userId: "alice", amount: "1", paymentId: bad }],
        ["/billing/payment/refund", { userId: "alice", paymentId: bad }],
        ["/billing/transaction", { userId: bad, type: "credit", amount: "1" }],
        ["/billing/usage/track", { userId: bad, provider: "openai", model: "gpt-4o-mini", promptTokens: 1, completionTokens: 1 }],
        ["/auth/api-keys", { userId: bad, name: "k" }],
        ["/analytics/track-event", { userId: bad, name: "e" }],
      ];
      for (const [url, body] of bodies) expectProblem(await post(url, JSON.stringify(body)), 400, "REQUEST.INVALID");
      expect(await snapshot()).toEqual(before);
    });

    it("the OpenAPI document publishes the alphabet as the ids' pattern", async () => {
      const doc = (await h.t.app.inject({ url: "/openapi.json" })).json();
      const userId = doc.paths["/billing/balance/{userId}"].get.parameters.find((p: { name: string }) => p.name === "userId");
      expect(userId.schema.pattern).toBe(ID_PATTERN.source);
    });

    it("a path or query id is accepted exactly when it matches the documented alphabet", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.constantFrom(...BAD, ...GOOD), fc.string({ maxLength: 140 }), fc.stringMatching(ID_PATTERN)),
          async (id) => {
            if (id === "" || id === "." || id === "..") return; // a URL cannot carry these as a path segment (tested in bodies above)
            const res = await h.t.app.inject({ url: `/billing/balance/${encodeURIComponent(id)}`, headers: h.t.admin });
            if (ID_PATTERN.test(id)) expect([200, 404]).toContain(res.statusCode);
            else expectProblem(res, 400, "REQUEST.INVALID");
            const list = await h.t.app.inject({ url: `/auth/api-keys?userId=${encodeURIComponent(id)}`, headers: h.t.admin });
            expect(list.statusCode).toBe(ID_PATTERN.test(id) ? 200 : 400);
          },
        ),
        { numRuns: 300 },
      );
    });
  });

  describe("UTF-8", () => {
    const INVALID = {
      lone_ff: [0xff],
      bom_swapped: [0xfe, 0xff],
      overlong_slash: [0xc0, 0xaf],
      surrogate: [0xed, 0xa0, 0x80],
      truncated: [0xe2, 0x82],
      beyond_u10ffff: [0xf4, 0x90, 0x80, 0x80],
      lone_continuation: [0x80],
    };
    const withBytes = (before: string, bytes: number[], after: string) =>
      Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);

    it.each(Object.entries(INVALID))("%s inside a string field: 400 on every POST route, nothing stored", async (_name, bytes) => {
      const before = await snapshot();
      const cases: Array<[string, Buffer, Record<string, string>]> = [
        ["/billing/payment/process", withBytes('{"userId":"alice","amount":"1","externalRef":"x', bytes, '"}'), h.t.admin],
        ["/billing/transaction", withBytes('{"userId":"alice","type":"credit","amount":"1","description":"', bytes, '"}'), h.t.admin],
        ["/auth/api-keys", withBytes('{"userId":"alice","name":"', bytes, '"}'), h.t.admin],
        ["/analytics/track-event", withBytes('{"name":"e","properties":{"k":"', bytes, '"}}'), h.t.admin],
        [
          "/v1/chat/completions",
          withBytes('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"', bytes, '"}]}'),
          h.t.bearer(key),
        ],
      ];
      for (const [url, payload, headers] of cases) expectProblem(await post(url, payload, headers), 400, "REQUEST.INVALID_UTF8");
      expect(await snapshot()).toEqual(before);
    });

    it("any byte string in a prompt: 400 REQUEST.INVALID_UTF8 exactly when it is not UTF-8", async () => {
      const strict = new TextDecoder("utf-8", { fatal: true });
      const printable = fc.uint8Array({ maxLength: 12 }).map((a) => a.map((b) => (b < 0x20 || b === 0x22 || b === 0x5c ? 0x41 : b)));
      await fc.assert(
        fc.asyncProperty(printable, async (bytes) => {
          let valid = true;
          try {
            strict.decode(bytes);
          } catch {
            valid = false;
          }
          const res = await post(
            "/proxy/validate-request",
            withBytes('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"', [...bytes], '"}]}'),
            h.t.bearer(key),
          );
          if (valid) expect(res.statusCode).toBe(200);
          else expectProblem(res, 400, "REQUEST.INVALID_UTF8");
        }),
        { numRuns: 300 },
      );
    });

    it("valid multi-byte text is kept exactly; invalid percent-escapes in a query are a 400 problem", async () => {
      const name = "café ☕ 😀 ключ";
      const res = await post("/auth/api-keys", Buffer.from(JSON.stringify({ userId: "alice", name })));
      expect(res.statusCode).toBe(201);
      expect(res.json().name).toBe(name);
      for (const url of [
        "/analytics/events/summary?from=%ff",
        "/auth/api-keys?userId=%C0%AF",
        "/events?types=%ed%a0%80",
        "/billing/balance/alice?asOf=%e2%82",
      ]) {
        expectProblem(await h.t.app.inject({ url, headers: h.t.admin }), 400, "REQUEST.INVALID");
      }
    });
  });

  describe("minPosition beyond the head", () => {
    const ROUTES = [
      "/billing/balance/alice",
      "/billing/transactions/alice",
      "/billing/report/alice",
      "/auth/api-keys",
      "/analytics/metrics",
      "/analytics/dashboard",
      "/analytics/events/summary",
    ];
    beforeAll(async () => {
      head = await h.t.platform.events.headPosition();
      await h.t.platform.projector.waitFor(head, 5000);
    });

    it.each(ROUTES)("%s: 422 READ_MODEL.POSITION_AHEAD naming the head; the head itself is served", async (url) => {
      const sep = url.includes("?") ? "&" : "?";
      for (const ahead of [head + 1, head + 1_000_000, Number.MAX_SAFE_INTEGER]) {
        const res = await h.t.app.inject({ url: `${url}${sep}minPosition=${ahead}`, headers: h.t.admin });
        expectProblem(res, 422, "READ_MODEL.POSITION_AHEAD");
        expect(res.json().headPosition).toBe(head);
      }
      expect((await h.t.app.inject({ url: `${url}${sep}minPosition=${head}`, headers: h.t.admin })).statusCode).toBe(200);
      expectProblem(await h.t.app.inject({ url: `${url}${sep}minPosition=9007199254740993`, headers: h.t.admin }), 400, "REQUEST.INVALID");
    });

    it("an API key gets the same answer for its own account", async () => {
      const res = await h.t.app.inject({ url: `/billing/balance/alice?minPosition=${head + 5}`, headers: h.t.bearer(key) });
      expectProblem(res, 422, "READ_MODEL.POSITION_AHEAD");
    });
  });
});
