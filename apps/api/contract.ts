import type { SwaggerTransformObject } from "@fastify/swagger";
import type { FastifyInstance, RouteOptions } from "fastify";
import { createJsonSchemaTransform } from "fastify-type-provider-zod";
import { z } from "zod";
import { ERRORS } from "./errors.ts";

// The OpenAPI contract, derived in one place from what each route declares: its access (security and
// the 401/403 problems), its owner rule (404, 422 when the admin names nobody), whether it has input
// (400), a body (413/415), minPosition (422 beyond the head), is a POST command (Idempotency-Key,
// 409/422 of the key), is metered by the gateway (402/404/422/429/502/503). Every route but /health
// may answer 503 when a store fails. Routes add only their own answers (201, 409 duplicates, 422 rules).

declare module "fastify" {
  interface FastifyContextConfig {
    /** a gateway route: charged against the balance, may be refused for funds, limits or upstreams */
    metered?: boolean;
  }
}

// keyed by the schema's definition, which `.describe()` and `.meta()` copies share with the original
const handDocumented = new WeakMap<object, Record<string, unknown>>();
/** `schema`, documented by the JSON Schema given here instead of the generated one (codecs, transforms) */
export function documentedAs<T extends z.core.$ZodType>(schema: T, json: Record<string, unknown>): T {
  handDocumented.set(schema._zod.def, json);
  return schema;
}

export const Problem = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.int().min(400).max(599),
    detail: z.string(),
    code: z.enum(Object.keys(ERRORS) as [keyof typeof ERRORS]),
    errors: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .describe("REQUEST.INVALID: each failing field"),
    requestId: z.string().optional().describe("INTERNAL: the id to find the request in the logs"),
    error: z
      .looseObject({ message: z.string(), type: z.string(), code: z.string() })
      .optional()
      .describe("gateway routes: OpenAI's error object, so official SDKs show the message"),
  })
  .meta({ id: "Problem", description: "RFC 9457 problem details; `code` is stable (see the error table)" });

/** a problem+json response, for route schemas */
export const problem = (description: string) => ({ description, content: { "application/problem+json": { schema: Problem } } });

const BEARER = [{ bearer: [] }];

/** a stable operationId from method and path: GET /billing/balance/:userId → getBillingBalanceByUserId */
export function operationIdOf(method: string, url: string) {
  const words = url
    .split("/")
    .filter(Boolean)
    .flatMap((part) => (part.startsWith(":") ? ["by", part.slice(1)] : part.split(/[^A-Za-z0-9]+/)));
  return [method.toLowerCase(), ...words.map((w) => w.charAt(0).toUpperCase() + w.slice(1))].join("");
}

/** the standard answers of a route, from its declaration: status → the reasons it can have */
function standardReasons(route: RouteOptions, method: string) {
  const schema = route.schema ?? {};
  const { access = "admin", owner, metered } = route.config ?? {};
  const reasons = new Map<number, string[]>();
  const add = (status: number, why: string) => reasons.set(status, [...(reasons.get(status) ?? []), why]);
  if (schema.body || schema.querystring || schema.params || schema.headers) add(400, "invalid input: `errors` names each field");
  if (access !== "public") add(401, "missing, malformed, unknown or revoked token");
  if (access !== "public" && access !== "any")
    add(403, "the token may not call this route (admin only, API key only, or a scope is missing)");
  if (owner) add(404, "not found, or it belongs to another user (the owner rule)");
  if (owner && !owner.optional) add(422, "the admin token must name the userId (REQUEST.USER_REQUIRED)");
  const query = schema.querystring as { shape?: Record<string, unknown> } | undefined;
  if (query?.shape && "minPosition" in query.shape) add(422, "minPosition is beyond the event store's head (READ_MODEL.POSITION_AHEAD)");
  if (schema.body) {
    add(413, "the body is too large");
    add(415, "the body is not application/json");
  }
  if (method === "POST") {
    add(409, "a request with this Idempotency-Key is in flight");
    add(422, "this Idempotency-Key was used with another body or route");
  }
  if (metered) {
    add(402, "balance minus holds cannot cover the request's maximum cost");
    add(404, "the model is not offered (at that provider)");
    add(422, "max_tokens exceeds the model's limit, or the provider could not process the request");
    add(429, "a rate limit or the key's budget; see Retry-After");
    add(502, "no provider could serve the request, or its answer was invalid; nothing was charged");
    add(503, "no provider can serve the model now; see Retry-After");
  }
  if (route.url !== "/health") add(503, "a store is unavailable or full; see Retry-After");
  if (/:/.test(route.url)) add(414, "a path segment is too long");
  return reasons;
}

/** One onRoute hook: security, operationId and the standard problem responses of every route. */
export function registerContract(app: FastifyInstance) {
  app.addHook("onRoute", (route) => {
    const method = [route.method].flat()[0]!;
    if (method === "HEAD" || route.schema?.hide || route.url.startsWith("/docs")) return;
    const schema = (route.schema ??= {}) as Record<string, unknown>;
    const own = (schema.response ?? {}) as Record<string, { description?: string }>;
    const response: Record<string, unknown> = { ...own };
    // a status the route declares itself keeps its schema; its description gains the standard reasons
    for (const [status, why] of standardReasons(route, method)) {
      const declared = own[status];
      response[status] = declared
        ? { ...declared, description: [declared.description, ...why].filter(Boolean).join("; ") }
        : problem(why.join("; "));
    }
    schema.response = response;
    schema.security = route.config?.access === "public" ? [] : BEARER;
    schema.operationId ??= operationIdOf(method, route.url);
  });
}

const HEADER_DOCS = {
  "idempotent-replayed": {
    type: "string",
    enum: ["true"],
    description: "true when this is the stored answer of an earlier request with the same Idempotency-Key",
  },
  "retry-after": { type: "string", pattern: "^[0-9]+$", description: "seconds to wait before retrying" },
};
const IDEMPOTENCY_KEY = {
  type: "string",
  pattern: "^[\\x21-\\x7e]{8,255}$",
  description: "same key and body: the stored answer is replayed and nothing is appended; another body: 422; in flight: 409; kept 24 hours",
};

/** zod → JSON Schema; hand-written JSON Schema where the generated one would be wrong */
const zodTransform = createJsonSchemaTransform({
  zodToJsonConfig: {
    override: (ctx) => {
      const doc = handDocumented.get(ctx.zodSchema._zod.def);
      if (doc) {
        const { description } = ctx.jsonSchema; // a copy's own `.describe()` wins
        for (const key of Object.keys(ctx.jsonSchema)) delete (ctx.jsonSchema as Record<string, unknown>)[key];
        Object.assign(ctx.jsonSchema, structuredClone(doc), description ? { description } : {});
      }
      // the library's default override: empty branches of a union say nothing
      if (ctx.zodSchema._zod.def.type === "union" && ctx.jsonSchema.anyOf)
        ctx.jsonSchema.anyOf = ctx.jsonSchema.anyOf.filter((s) => Object.keys(s).length > 0);
    },
  },
});

/** @fastify/swagger's transform: zod schemas, then the header documentation the zod step cannot carry */
export const documentRoute: typeof zodTransform = (input) => {
  const result = zodTransform(input);
  const schema = result.schema as Record<string, unknown> | undefined;
  const method = [input.route.method].flat()[0];
  if (!schema || schema.hide) return result;
  const responses = (schema.response ?? {}) as Record<string, Record<string, unknown>>;
  for (const [status, response] of Object.entries(responses)) {
    const headers: Record<string, unknown> = {};
    if (method === "POST" && Number(status) < 500 && Number(status) !== 401 && Number(status) !== 403)
      headers["idempotent-replayed"] = HEADER_DOCS["idempotent-replayed"];
    if (["409", "429", "503"].includes(status)) headers["retry-after"] = HEADER_DOCS["retry-after"];
    if (Object.keys(headers).length > 0) response.headers = { ...(response.headers as object), ...headers };
  }
  if (method === "POST") {
    const headers = (schema.headers ?? { type: "object", properties: {} }) as { properties?: Record<string, unknown> };
    schema.headers = { ...headers, properties: { ...headers.properties, "idempotency-key": IDEMPOTENCY_KEY } };
  }
  return result;
};

/** the finished document: Problem as its one shared component */
export const finishDocument: SwaggerTransformObject = (doc) => {
  if (!("openapiObject" in doc)) return doc.swaggerObject;
  const { $schema: _, ...json } = z.toJSONSchema(Problem, {
    target: "draft-2020-12",
    io: "output",
    metadata: new z.core.$ZodRegistry(),
  }) as Record<string, unknown>;
  const problemSchema = { ...json, description: Problem.meta()?.description };
  const { openapiObject } = doc;
  openapiObject.components = { ...openapiObject.components, schemas: { ...openapiObject.components?.schemas, Problem: problemSchema } };
  return openapiObject;
};
