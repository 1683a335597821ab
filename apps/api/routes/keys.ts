import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { listApiKeys } from "../../../projections/api-keys.ts";
import { createApiKey, DEFAULT_SCOPES, narrowToCreator, revokeApiKey, toKeyView } from "../../../application/keys/keys.ts";
import type { Platform } from "../../../application/platform.ts";
import { ownerOf, SCOPES, type Revocations } from "../auth.ts";
import { problem } from "../contract.ts";
import { awaitPosition, commandContext } from "../context.ts";
import { id, instantOut, minPosition, moneyOut, positionOut, positiveMoney, text } from "../schemas.ts";

const Limits = z.object({ requestsPerMinute: z.int().optional(), tokensPerMinute: z.int().optional(), budget: moneyOut.optional() });
const KeyView = z.object({
  id: z.string(),
  prefix: z.string(),
  name: z.string(),
  userId: z.string(),
  scopes: z.array(z.string()),
  limits: Limits,
  status: z.enum(["active", "revoked"]),
  createdAt: instantOut,
  revokedAt: instantOut.optional(),
});
const CreatedKey = z.object({
  id: z.string(),
  key: z.string().nullable().describe("the secret: shown once, never stored; null in an Idempotency-Key replay"),
  prefix: z.string(),
  name: z.string(),
  userId: z.string(),
  scopes: z.array(z.string()),
  limits: Limits,
  createdAt: instantOut,
  position: positionOut,
  secretShown: z.literal(false).optional().describe("present (false) in an Idempotency-Key replay, which never carries the secret"),
});
const Revoked = z.object({ id: z.string(), status: z.literal("revoked"), revokedAt: instantOut, position: positionOut });

export async function keyRoutes(fastify: FastifyInstance, { platform, revocations }: { platform: Platform; revocations: Revocations }) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const tags = ["auth"];

  app.post("/auth/api-keys", {
    config: { access: "user", scope: "keys", owner: { in: "body" }, secret: "key" },
    schema: {
      tags,
      summary: "Create an API key; the secret is returned once",
      body: z.strictObject({
        userId: id.optional().describe("required with the admin token; an API key creates keys for its own user"),
        name: text(100),
        scopes: z
          .array(z.enum(SCOPES))
          .min(1)
          .max(SCOPES.length)
          .optional()
          .describe(`default: ${DEFAULT_SCOPES.join(", ")} (for an API key: those of them it has)`),
        limits: z
          .strictObject({
            requestsPerMinute: z.number().int().positive().max(1_000_000).optional(),
            tokensPerMinute: z.number().int().positive().max(1_000_000_000).optional(),
            budget: positiveMoney.optional(),
          })
          .optional(),
      }),
      response: { 201: CreatedKey, 409: problem("an active key of this name exists (API_KEY.NAME_TAKEN)") },
    },
    handler: async (request, reply) => {
      const p = request.principal!;
      const { limits, scopes, name } = request.body;
      const granted =
        p.kind === "user" ? narrowToCreator(p, scopes, limits) : { scopes: scopes ?? DEFAULT_SCOPES, ...(limits ? { limits } : {}) };
      const created = await createApiKey(platform, commandContext(request, platform), { userId: request.owner!, name, ...granted });
      return reply.code(201).send(created);
    },
  });

  app.get("/auth/api-keys", {
    config: { access: "user", scope: "keys", owner: { in: "query", optional: true } },
    schema: {
      tags,
      summary: "List API keys (never secrets)",
      querystring: z.strictObject({ userId: id.optional(), minPosition }),
      response: { 200: z.object({ items: z.array(KeyView) }) },
    },
    handler: async (request) => {
      await awaitPosition(platform, request.query.minPosition);
      return { items: (await listApiKeys(platform.reads, request.owner)).map(toKeyView) };
    },
  });

  app.delete("/auth/api-keys/:keyId", {
    config: { access: "user", scope: "keys" },
    schema: {
      tags,
      summary: "Revoke an API key (404 unknown, 409 already revoked)",
      params: z.strictObject({ keyId: id }),
      response: {
        200: Revoked,
        404: problem("no such key, or it belongs to another user (API_KEY.NOT_FOUND)"),
        409: problem("the key is already revoked (API_KEY.ALREADY_REVOKED)"),
      },
    },
    handler: async (request) => {
      const revoked = await revokeApiKey(platform, commandContext(request, platform), request.params.keyId, ownerOf(request, undefined));
      revocations.revoked(revoked.id); // refused here before this answer leaves
      return revoked;
    },
  });
}
