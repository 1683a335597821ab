import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatApiKey } from "../../domain/api-key.ts";
import { startGatewayHarness, UPSTREAM_KEYS, type GatewayHarness } from "../../test/harness/gateway-harness.ts";
import { ADMIN_TOKEN } from "../../test/harness/platform.ts";

// Every route × every kind of caller. The expected statuses are written by hand from the README's
// scope table, not read from the route config; the route list comes from the running instance, so a
// route added without a row here fails. Columns: admin | owner's key with only chat | only
// billing:read | only keys | only analytics:write | another user's key with every scope | and one
// status for the six callers without a valid principal (revoked key, no token, garbage, bare
// "Bearer", an unknown well-formed key, a key with one character changed).

const OWNER = "mx-owner";
const OTHER = "mx-other";
const PAYMENT = "pay-mx-owner-1";
const CALLERS = [
  "admin",
  "chat",
  "billing:read",
  "keys",
  "analytics:write",
  "other",
  "revoked",
  "none",
  "garbage",
  "bare-bearer",
  "unknown-key",
  "one-char-off",
] as const;
type Caller = (typeof CALLERS)[number];

const PUBLIC = "200 200 200 200 200 200 | 200";
const READ = "200 403 200 403 403 404 | 401";
const ADMIN_GET = "200 403 403 403 403 403 | 401";
const ADMIN_POST = "201 403 403 403 403 403 | 401";
const GATEWAY = "403 200 403 403 403 200 | 401";
const chat = { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], max_tokens: 5 };
const track = { name: "matrix.clicked", userId: OWNER, properties: { n: 1 } };

type Request = { url: string; payload?: object };
// GET rows are also checked as HEAD with the same statuses (fastify exposes HEAD for every GET)
const TABLE: Record<string, { expect: string; request?: (c: Ctx) => Request | Promise<Request> }> = {
  "GET /health": { expect: PUBLIC },
  "GET /ready": { expect: PUBLIC },
  "GET /metrics": { expect: PUBLIC },
  "GET /openapi.json": { expect: PUBLIC },
  "GET /docs": { expect: PUBLIC },
  "GET /docs/": { expect: PUBLIC },
  "GET /docs/*": { expect: PUBLIC, request: () => ({ url: "/docs/static/swagger-ui.css" }) },
  "GET /orchestrator/models": { expect: PUBLIC },
  "GET /": { expect: PUBLIC },
  "GET /console/:file": { expect: PUBLIC, request: () => ({ url: "/console/app.js" }) },
  "GET /auth/me": { expect: "200 200 200 200 200 200 | 401" },
  "GET /billing/accounts": { expect: ADMIN_GET },
  "GET /system/status": { expect: ADMIN_GET },
  "GET /orchestrator/providers": { expect: ADMIN_GET },
  "POST /auth/api-keys": {
    expect: "201 403 403 201 403 404 | 401",
    request: (c) => ({ url: "/auth/api-keys", payload: { userId: OWNER, name: c.fresh(), scopes: ["keys"] } }),
  },
  "GET /auth/api-keys": { expect: "200 403 403 200 403 404 | 401", request: () => ({ url: `/auth/api-keys?userId=${OWNER}` }) },
  "DELETE /auth/api-keys/:keyId": {
    expect: "200 403 403 200 403 404 | 401",
    request: async (c) => ({ url: `/auth/api-keys/${(await c.mint(OWNER, ["chat"])).id}` }),
  },
  "GET /billing/balance/:userId": { expect: READ, request: () => ({ url: `/billing/balance/${OWNER}` }) },
  "GET /billing/transactions/:userId": { expect: READ, request: () => ({ url: `/billing/transactions/${OWNER}` }) },
  "GET /billing/report/:userId": { expect: READ, request: () => ({ url: `/billing/report/${OWNER}` }) },
  "GET /audit/transactions/:userId": { expect: READ, request: () => ({ url: `/audit/transactions/${OWNER}` }) },
  "GET /audit/verify/:userId": { expect: READ, request: () => ({ url: `/audit/verify/${OWNER}` }) },
  "POST /billing/payment/process": {
    expect: ADMIN_POST,
    request: () => ({ url: "/billing/payment/process", payload: { userId: OWNER, amount: "1" } }),
  },
  "POST /billing/payment/refund": {
    expect: ADMIN_POST,
    request: () => ({ url: "/billing/payment/refund", payload: { userId: OWNER, paymentId: PAYMENT, amount: "0.01" } }),
  },
  "POST /billing/transaction": {
    expect: ADMIN_POST,
    request: () => ({ url: "/billing/transaction", payload: { userId: OWNER, type: "credit", amount: "1" } }),
  },
  "POST /billing/usage/track": {
    expect: ADMIN_POST,
    request: () => ({
      url: "/billing/usage/track",
      payload: { userId: OWNER, provider: "openai", model: "gpt-4o-mini", promptTokens: 1, completionTokens: 1 },
    }),
  },
  "GET /analytics/metrics": { expect: ADMIN_GET },
  "GET /analytics/dashboard": { expect: ADMIN_GET },
  "GET /analytics/stats/collection": { expect: ADMIN_GET },
  "GET /analytics/events/summary": { expect: ADMIN_GET },
  "GET /audit/reconcile": { expect: ADMIN_GET },
  "GET /events": { expect: ADMIN_GET, request: () => ({ url: `/events?userId=${OWNER}` }) },
  "POST /analytics/track-event": {
    expect: "202 403 403 403 202 404 | 401",
    request: () => ({ url: "/analytics/track-event", payload: track }),
  },
  "POST /analytics/events/track": {
    expect: "202 403 403 403 202 404 | 401",
    request: () => ({ url: "/analytics/events/track", payload: track }),
  },
  "POST /orchestrator/route-request": {
    expect: "200 200 403 403 403 200 | 401",
    request: () => ({ url: "/orchestrator/route-request", payload: { model: "gpt-4o-mini" } }),
  },
  "GET /v1/models": { expect: "200 200 403 403 403 200 | 401" },
  "POST /v1/chat/completions": { expect: GATEWAY, request: () => ({ url: "/v1/chat/completions", payload: chat }) },
  "POST /proxy/openai/chat/completions": { expect: GATEWAY, request: () => ({ url: "/proxy/openai/chat/completions", payload: chat }) },
  "POST /proxy/openrouter/chat/completions": {
    expect: GATEWAY,
    request: () => ({ url: "/proxy/openrouter/chat/completions", payload: chat }),
  },
  "POST /proxy/validate-request": { expect: GATEWAY, request: () => ({ url: "/proxy/validate-request", payload: chat }) },
};

interface Ctx {
  fresh(): string;
  mint(userId: string, scopes: string[]): Promise<{ id: string; key: string; prefix: string }>;
}

/** METHOD url of every route the instance serves, read from its router tree */
function routesOf(app: FastifyInstance): string[] {
  const stack: string[] = [];
  const routes: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split("\n")) {
    const node = /^([│ ]*)[├└]── (\S+)(?: \(([^)]*)\))?$/.exec(line);
    if (!node) continue;
    const depth = node[1]!.length / 4;
    stack.length = depth;
    stack.push(node[2]!);
    for (const method of node[3]?.split(", ") ?? []) routes.push(`${method} ${stack.join("")}`);
  }
  return routes;
}

describe("access matrix: every route × every caller", () => {
  let h: GatewayHarness;
  const tokens = {} as Record<Caller, string | undefined>;
  const secrets: string[] = [ADMIN_TOKEN, UPSTREAM_KEYS.openai, UPSTREAM_KEYS.openrouter];
  const markers: Record<string, string[]> = { [OWNER]: [OWNER, PAYMENT], [OTHER]: [OTHER] };
  let n = 0;
  const ctx: Ctx = {
    fresh: () => `matrix-${++n}`,
    async mint(userId, scopes) {
      const r = await h.t.app.inject({
        method: "POST",
        url: "/auth/api-keys",
        headers: h.t.admin,
        payload: { userId, name: ctx.fresh(), scopes },
      });
      if (r.statusCode !== 201) throw new Error(r.body);
      return remember(userId, r.json());
    },
  };
  function remember(userId: string, created: { id: string; key: string; prefix: string }) {
    secrets.push(created.key, created.key.slice(`aia_${created.prefix}_`.length, -6));
    markers[userId]!.push(created.prefix);
    return created;
  }

  beforeAll(async () => {
    h = await startGatewayHarness();
    await h.fund(OTHER, "50");
    const pay = await h.t.app.inject({
      method: "POST",
      url: "/billing/payment/process",
      headers: h.t.admin,
      payload: { userId: OWNER, amount: "50", paymentId: PAYMENT },
    });
    expect(pay.statusCode).toBe(201);
    tokens.admin = ADMIN_TOKEN;
    for (const scope of ["chat", "billing:read", "keys", "analytics:write"] as const) tokens[scope] = (await ctx.mint(OWNER, [scope])).key;
    tokens.other = (await ctx.mint(OTHER, ["chat", "billing:read", "keys", "analytics:write"])).key;
    const revoked = await ctx.mint(OWNER, ["chat", "billing:read", "keys", "analytics:write"]);
    expect((await h.t.app.inject({ method: "DELETE", url: `/auth/api-keys/${revoked.id}`, headers: h.t.admin })).statusCode).toBe(200);
    tokens.revoked = revoked.key;
    tokens.garbage = "not-a-token";
    tokens["bare-bearer"] = "";
    tokens["unknown-key"] = formatApiKey("Unknown0Prefix", "A".repeat(40));
    const k = tokens.keys!;
    const i = k.length - 10; // inside the random part: the checksum no longer matches
    tokens["one-char-off"] = `${k.slice(0, i)}${k[i] === "x" ? "y" : "x"}${k.slice(i + 1)}`;
  });
  afterAll(() => h.close());

  it("has a row for every route the instance serves, and no row for a route it does not", () => {
    const served = routesOf(h.t.app);
    const rows = Object.keys(TABLE).flatMap((r) => (r.startsWith("GET ") ? [r, r.replace("GET", "HEAD")] : [r]));
    expect(served.filter((r) => !rows.includes(r))).toEqual([]);
    expect(rows.filter((r) => !served.includes(r))).toEqual([]);
  });

  it.each(Object.entries(TABLE))("%s: every caller gets its documented status and nothing of anyone else", async (route, row) => {
    const [cells, rest] = row.expect.split(" | ");
    const expected = [...cells!.split(" "), ...Array(6).fill(rest)].map(Number);
    const method = route.split(" ")[0] as "GET" | "POST" | "DELETE";
    for (const verb of method === "GET" ? (["GET", "HEAD"] as const) : [method]) {
      const got: string[] = [];
      for (const caller of CALLERS) {
        const { url, payload } = row.request ? await row.request(ctx) : { url: route.split(" ")[1]! };
        const known = [...secrets];
        const token = tokens[caller];
        const headers = caller === "none" ? {} : { authorization: `Bearer ${token}` };
        const res = await h.t.app.inject({ method: verb, url, headers, ...(payload ? { payload } : {}) });
        got.push(`${caller}=${res.statusCode}`);
        const seen = JSON.stringify(res.headers) + res.body;
        for (const secret of known) expect(seen.includes(secret), `${verb} ${url} as ${caller} leaks a secret`).toBe(false);
        const sent = url + JSON.stringify(payload ?? {});
        const foreign =
          caller === "admin"
            ? []
            : caller === "other"
              ? markers[OWNER]!
              : CALLERS.indexOf(caller) < 5
                ? markers[OTHER]!
                : [...markers[OWNER]!, ...markers[OTHER]!];
        for (const marker of foreign) if (!sent.includes(marker)) expect(seen, `${verb} ${url} as ${caller}`).not.toContain(marker);
        if (res.statusCode === 201 && url === "/auth/api-keys") remember(OWNER, res.json());
      }
      expect(got, `${verb} ${route}`).toEqual(CALLERS.map((c, i) => `${c}=${expected[i]}`));
    }
  });
});
