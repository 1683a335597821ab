import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { listApiKeys } from "../../../projections/queries.ts";
import { createApiKey, revokeApiKey, toKeyView } from "../../shared/keys.ts";
import type { Platform } from "../../shared/platform.ts";
import { awaitPosition, commandContext } from "../context.ts";
import { HttpProblem } from "../problem.ts";
import { id, minPosition, positiveMoney } from "../schemas.ts";

const SCOPES = ["chat", "billing:read", "keys"] as const;

export async function keyRoutes(fastify: FastifyInstance, { platform }: { platform: Platform }) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const tags = ["auth"];

  app.post("/auth/api-keys", {
    config: { access: "user" },
    schema: {
      tags,
      summary: "Create an API key; the secret is returned once",
      body: z.strictObject({
        userId: id.optional().describe("required with the admin token; an API key creates keys for its own user"),
        name: z.string().min(1).max(100),
        scopes: z.array(z.enum(SCOPES)).min(1).max(SCOPES.length).default(["chat", "billing:read"]),
        limits: z
          .strictObject({
            requestsPerMinute: z.number().int().positive().max(1_000_000).optional(),
            tokensPerMinute: z.number().int().positive().max(1_000_000_000).optional(),
            budget: positiveMoney.optional(),
          })
          .optional(),
      }),
    },
    handler: async (request, reply) => {
      const p = request.principal!;
      let userId = request.body.userId;
      if (p.kind === "user") {
        if (!p.scopes.includes("keys")) throw new HttpProblem(403, "AUTH.SCOPE_MISSING", "this API key lacks the 'keys' scope");
        if (userId !== undefined && userId !== p.userId) throw new HttpProblem(404, "RESOURCE.NOT_FOUND", `account ${userId} not found`);
        userId = p.userId;
      }
      if (!userId) throw new HttpProblem(400, "REQUEST.INVALID", "body.userId: required with the admin token", { errors: [{ field: "body.userId", message: "required" }] });
      const { limits, ...rest } = request.body;
      const created = await createApiKey(platform, commandContext(request, platform), { ...rest, userId, ...(limits ? { limits } : {}) });
      return reply.code(201).send(created);
    },
  });

  app.get("/auth/api-keys", {
    config: { access: "user" },
    schema: { tags, summary: "List API keys (never secrets)", querystring: z.strictObject({ userId: id.optional(), minPosition }) },
    handler: async (request) => {
      const p = request.principal!;
      await awaitPosition(platform, request.query.minPosition);
      if (p.kind === "user" && request.query.userId !== undefined && request.query.userId !== p.userId) {
        throw new HttpProblem(404, "RESOURCE.NOT_FOUND", `account ${request.query.userId} not found`);
      }
      const userId = p.kind === "user" ? p.userId : request.query.userId;
      return { items: (await listApiKeys(platform.reads, userId)).map(toKeyView) };
    },
  });

  app.delete("/auth/api-keys/:keyId", {
    config: { access: "user" },
    schema: { tags, summary: "Revoke an API key (404 unknown, 409 already revoked)", params: z.strictObject({ keyId: id }) },
    handler: async (request) => {
      const p = request.principal!;
      return revokeApiKey(platform, commandContext(request, platform), request.params.keyId, p.kind === "user" ? p.userId : undefined);
    },
  });
}
