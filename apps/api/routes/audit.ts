import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { auditTrail } from "../../shared/audit.ts";
import type { Platform } from "../../shared/platform.ts";
import { auditJson, reconcileAll, verifyAccount } from "../../shared/reconcile.ts";
import { HttpProblem } from "../problem.ts";
import { userIdParams } from "../schemas.ts";
import { eventsQuery } from "./events.ts";

// Auditors: the account's complete ordered history with ids and hashes, and its verification.
// Both read the event store (the account stream is the record); only the comparison reads a projection.

export async function auditRoutes(fastify: FastifyInstance, { platform }: { platform: Platform }) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const tags = ["audit"];

  app.get("/audit/transactions/:userId", {
    config: { access: "user", scope: "billing:read", owner: { in: "params" } },
    schema: {
      tags,
      summary: "Every event of the account stream in order, with ids, revision, position, actor, correlation/causation and hashes",
      params: userIdParams,
      querystring: z.strictObject({
        fromRevision: z.coerce.number().int().min(0).default(0),
        limit: z.coerce.number().int().min(1).max(5000).default(500),
        types: eventsQuery.shape.types,
      }),
    },
    handler: async (request) => auditTrail(platform.events, request.params.userId, request.query),
  });

  app.get("/audit/verify/:userId", {
    config: { access: "user", scope: "billing:read", owner: { in: "params" } },
    schema: { tags, summary: "Hash chain, ledger and balance read model of one account, recomputed from its events", params: userIdParams },
    handler: async (request) => {
      const { userId } = request.params;
      const audit = await verifyAccount(platform.events, platform.reads, userId);
      if (!audit) throw new HttpProblem(404, "ACCOUNT.NOT_FOUND", `account ${userId} not found`);
      return auditJson(audit);
    },
  });

  app.get("/audit/reconcile", {
    config: { access: "admin" },
    schema: { tags, summary: "Reconciliation: every account's chain, ledger and balance read model against its events (one pass over $all)" },
    handler: async () => {
      const result = await reconcileAll(platform.events, platform.reads);
      return { ...result, mismatches: result.mismatches.map(auditJson) };
    },
  });
}
