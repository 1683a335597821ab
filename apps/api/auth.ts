import { hash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { apiKeyMatches, parseApiKey } from "../../domain/api-key.ts";
import type { ApiKeyLimits } from "../../domain/events.ts";
import type { ApiKeyDoc } from "../../projections/api-keys.ts";
import { HttpProblem } from "./problem.ts";
import { BoundedCache } from "../../application/bounded-cache.ts";

// Authority is declared per route (`config: { access, scope, owner }`) and checked here, in one
// onRequest hook (token, access, scope) and one preHandler (owner), both before the Idempotency-Key
// hook, so nothing is replayed to a caller that may not make the request. README: scope table.

export const SCOPES = ["chat", "billing:read", "keys", "analytics:write"] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * `public` no token; `admin` the admin token only; `user` admin or an API key with `scope`; `key` an API
 * key with `scope` only; `any` the admin token or any valid API key (who am I)
 */
export type Access = "public" | "admin" | "user" | "key" | "any";

export type Principal =
  | { kind: "admin" }
  | {
      kind: "user";
      userId: string;
      keyId: string;
      /** the key's public prefix (logged; never the secret) */ keyPrefix: string;
      scopes: string[];
      limits: ApiKeyLimits;
    };

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
    /** the user the request acts for (config.owner), resolved by ownerOf; undefined: admin naming nobody */
    owner: string | undefined;
  }
  interface FastifyContextConfig {
    access?: Access;
    /** the scope an API key needs (routes with access `user` or `key`) */
    scope?: Scope;
    /** where the route names the user it acts for (`userId`); `optional`: the admin token may name nobody */
    owner?: { in: "params" | "query" | "body"; optional?: true };
  }
}

export interface AuthDeps {
  adminToken: string;
  /** the key from its own event stream: every instance sees a revocation as soon as it is durable */
  findKeyByPrefix(prefix: string): Promise<ApiKeyDoc | null>;
}

/** Keys revoked through this instance; the revocation route calls it before it answers. */
export interface Revocations {
  revoked(keyId: string): void;
}

/** Every instance refuses a revoked key once this TTL of its cached lookup ran out (README "Revocation"). */
export const AUTH_CACHE_TTL_MS = 1000;

type Lookup = { doc: ApiKeyDoc | null; until: number };
/** key lookups kept (misses too): by count and by estimated bytes, least recently used out first */
const CACHE_BOUNDS = { maxEntries: 10_000, maxBytes: 8 * 2 ** 20 };
const weighLookup = (l: Lookup, prefix: string) => 256 + 2 * (prefix.length + (l.doc ? JSON.stringify(l.doc).length : 0));

const digest = (s: string) => hash("sha256", s, "buffer");
const sameDigest = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);
const invalidToken = () => new HttpProblem("AUTH.INVALID_TOKEN", "the token is not a valid admin token or API key");

export function registerAuth(app: FastifyInstance, deps: AuthDeps): Revocations {
  const adminDigest = digest(deps.adminToken);
  const cache = new BoundedCache<string, Lookup>(CACHE_BOUNDS, weighLookup);
  // bumped by a revocation here: a lookup that straddles it neither caches nor uses what it read before
  let generation = 0;

  async function lookup(prefix: string): Promise<ApiKeyDoc | null> {
    const hit = cache.get(prefix);
    if (hit && hit.until > Date.now()) return hit.doc;
    for (;;) {
      const started = generation;
      const doc = await deps.findKeyByPrefix(prefix);
      if (started !== generation) continue;
      cache.set(prefix, { doc, until: Date.now() + AUTH_CACHE_TTL_MS });
      return doc;
    }
  }

  async function authenticate(request: FastifyRequest): Promise<Principal | null> {
    const header = request.headers.authorization;
    if (!header) return null;
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new HttpProblem("AUTH.MALFORMED", "Authorization must be 'Bearer <token>'");
    const token = match[1]!;
    if (sameDigest(digest(token), adminDigest)) return { kind: "admin" };
    const parsed = parseApiKey(token);
    if (!parsed) throw invalidToken();
    const doc = await lookup(parsed.prefix);
    if (!doc || !apiKeyMatches(token, doc.secretHash)) throw invalidToken();
    if (doc.status !== "active") throw new HttpProblem("AUTH.KEY_REVOKED", "this API key has been revoked");
    return { kind: "user", userId: doc.userId, keyId: doc.id, keyPrefix: parsed.prefix, scopes: doc.scopes, limits: doc.limits };
  }

  app.decorateRequest("principal", null);
  app.decorateRequest("owner", undefined);
  // every route registered from here on declares its authority, or the app does not start
  app.addHook("onRoute", (route) => {
    const { access, scope } = route.config ?? {};
    const where = `${String(route.method)} ${route.url}`;
    if (!access) throw new Error(`route ${where} declares no config.access`);
    if ((access === "user" || access === "key") !== (scope !== undefined)) {
      throw new Error(`route ${where}: access "${access}" ${scope ? "takes no" : "needs a"} config.scope`);
    }
  });
  app.addHook("onRequest", async (request) => {
    const { access = "admin", scope } = request.routeOptions.config;
    if (access === "public" || request.is404) return;
    const principal = await authenticate(request);
    if (!principal) throw new HttpProblem("AUTH.MISSING", "missing Authorization: Bearer <token>");
    if (principal.kind === "admin") {
      if (access === "key") throw new HttpProblem("AUTH.API_KEY_REQUIRED", "this route needs an API key");
    } else {
      if (access === "admin") throw new HttpProblem("AUTH.ADMIN_ONLY", "this route needs the admin token");
      if (access !== "any" && (!scope || !principal.scopes.includes(scope)))
        throw new HttpProblem("AUTH.SCOPE_MISSING", `this API key lacks the '${scope}' scope`);
    }
    request.principal = principal;
    // request.log is this request's own child logger: binding the actor on it costs less than a child of it
    const actor = { actor: principal.kind === "admin" ? "admin" : principal.keyId };
    const log = request.log as typeof request.log & { setBindings?: (bindings: object) => void };
    if (log.setBindings) log.setBindings(actor);
    else request.log = request.log.child(actor); // logging off: fastify's no-op logger
  });
  // after validation, before the Idempotency-Key hook (registered later): the owner is known before any replay
  app.addHook("preHandler", async (request) => {
    const owner = request.routeOptions.config.owner;
    if (!owner) return;
    const named = (request[owner.in] as { userId?: string } | undefined)?.userId;
    request.owner = ownerOf(request, named);
    if (request.owner === undefined && !owner.optional) {
      // schema-valid (an API key names nobody), so a 422 rather than a 400
      throw new HttpProblem("REQUEST.USER_REQUIRED", `${owner.in}.userId is required with the admin token`);
    }
  });

  return {
    revoked(keyId) {
      generation++;
      cache.delete(keyId.replace(/^key_/, "")); // keys are created as key_{prefix}; the cache is keyed by prefix
    },
  };
}

/**
 * The one owner rule: an API key acts for its own user, and naming another user answers 404 (never
 * 403: ids cannot be probed); the admin token acts for the user it names (undefined: none named).
 */
export function ownerOf(request: FastifyRequest, userId: string | undefined): string | undefined {
  const p = request.principal;
  if (p?.kind !== "user") return userId;
  if (userId !== undefined && userId !== p.userId) throw new HttpProblem("RESOURCE.NOT_FOUND", "no such account for this API key");
  return p.userId;
}

/** the calling API key on a route with access `key` (the onRequest hook has checked it) */
export function apiKeyOf(request: FastifyRequest) {
  const p = request.principal;
  if (p?.kind !== "user") throw new Error(`${request.routeOptions.url} is not declared with access "key"`);
  return p;
}

export function actorOf(request: FastifyRequest) {
  const p = request.principal;
  return p?.kind === "user" ? { type: "apiKey" as const, id: p.keyId } : { type: "admin" as const, id: "admin" };
}
