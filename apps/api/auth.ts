import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { apiKeyMatches, parseApiKey } from "../../domain/api-key.ts";
import type { ApiKeyLimits } from "../../domain/events.ts";
import type { ApiKeyDoc } from "../../projections/api-keys.ts";
import { HttpProblem } from "./problem.ts";

export type Principal =
  | { kind: "admin" }
  | { kind: "user"; userId: string; keyId: string; scopes: string[]; limits: ApiKeyLimits };

/** who may call a route: `public` nobody needs a token; `user` admin or API key; `key` API key only */
export type Access = "public" | "admin" | "user" | "key";

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}

export interface AuthDeps {
  adminToken: string;
  findKeyByPrefix(prefix: string): Promise<ApiKeyDoc | null>;
  /** waits until the read models have caught up with the event store (a key created a moment ago) */
  catchUp(): Promise<void>;
}

const digest = (s: string) => createHash("sha256").update(s).digest();
const sameDigest = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);

export function registerAuth(app: FastifyInstance, deps: AuthDeps) {
  const adminDigest = digest(deps.adminToken);
  // revocation takes effect within this TTL
  const cache = new Map<string, { doc: ApiKeyDoc | null; until: number }>();

  async function lookup(prefix: string, retry: boolean): Promise<ApiKeyDoc | null> {
    const hit = cache.get(prefix);
    if (hit && hit.until > Date.now()) return hit.doc;
    let doc = await deps.findKeyByPrefix(prefix);
    if (!doc && retry) {
      await deps.catchUp();
      doc = await deps.findKeyByPrefix(prefix);
    }
    if (cache.size > 50_000) cache.clear();
    cache.set(prefix, { doc, until: Date.now() + 1000 });
    return doc;
  }

  async function authenticate(request: FastifyRequest): Promise<Principal | null> {
    const header = request.headers.authorization;
    if (!header) return null;
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new HttpProblem(401, "AUTH.MALFORMED", "Authorization must be 'Bearer <token>'");
    const token = match[1]!;
    if (sameDigest(digest(token), adminDigest)) return { kind: "admin" };
    const parsed = parseApiKey(token);
    if (!parsed) throw new HttpProblem(401, "AUTH.INVALID_TOKEN", "the token is not a valid admin token or API key");
    const doc = await lookup(parsed.prefix, true);
    if (!doc || !apiKeyMatches(token, doc.secretHash)) {
      throw new HttpProblem(401, "AUTH.INVALID_TOKEN", "the token is not a valid admin token or API key");
    }
    if (doc.status !== "active") throw new HttpProblem(401, "AUTH.KEY_REVOKED", "this API key has been revoked");
    return { kind: "user", userId: doc.userId, keyId: doc.id, scopes: doc.scopes, limits: doc.limits };
  }

  app.decorateRequest("principal", null);
  app.addHook("onRequest", async (request) => {
    const access = request.routeOptions.config.access ?? "admin";
    if (access === "public" || request.is404) return;
    const principal = await authenticate(request);
    if (!principal) throw new HttpProblem(401, "AUTH.MISSING", "missing Authorization: Bearer <token>");
    if (access === "admin" && principal.kind !== "admin") throw new HttpProblem(403, "AUTH.ADMIN_ONLY", "this route needs the admin token");
    if (access === "key" && principal.kind !== "user") throw new HttpProblem(403, "AUTH.API_KEY_REQUIRED", "this route needs an API key");
    request.principal = principal;
    request.log = request.log.child({ actor: principal.kind === "admin" ? "admin" : principal.keyId });
  });
}

/** Owner rule: an API key reaches only its own user's resources; another user's id answers 404. */
export function assertOwner(request: FastifyRequest, userId: string, what = "account") {
  const p = request.principal;
  if (p?.kind === "user" && p.userId !== userId) throw new HttpProblem(404, "RESOURCE.NOT_FOUND", `${what} ${userId} not found`);
}

export function actorOf(request: FastifyRequest) {
  const p = request.principal;
  return p?.kind === "user" ? { type: "apiKey" as const, id: p.keyId } : { type: "admin" as const, id: "admin" };
}
