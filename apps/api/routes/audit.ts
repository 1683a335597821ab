import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { auditTrail } from "../../../application/audit/audit.ts";
import type { Platform } from "../../../application/platform.ts";
import { auditJson, reconcileAll, verifyAccount } from "../../../application/audit/reconcile.ts";
import { documentedAs } from "../contract.ts";
import { HttpProblem } from "../problem.ts";
import { instantOut, moneyOut, positionOut, queryInt, userIdParams } from "../schemas.ts";
import { eventsQuery } from "./events.ts";

/** the event's data exactly as hashed (money in integer micro-USD) */
const eventData = documentedAs(
  z.custom<object>((v) => typeof v === "object" && v !== null),
  { type: "object", description: "the event's data exactly as hashed: money in integer micro-USD" },
);
const actor = z.object({ type: z.enum(["admin", "apiKey", "system"]), id: z.string() });
const Metadata = z.object({
  eventId: z.string(),
  occurredAt: instantOut,
  actor,
  correlationId: z.string(),
  causationId: z.string(),
  idempotencyKey: z.string().optional(),
  schemaVersion: z.literal(1),
  prevHash: z.string().optional(),
  hash: z.string().optional(),
});
const Trail = z.object({
  userId: z.string(),
  stream: z.string(),
  items: z.array(
    z.object({
      position: positionOut,
      revision: z.int(),
      eventId: z.string(),
      type: z.string(),
      occurredAt: instantOut,
      actor,
      correlationId: z.string(),
      causationId: z.string(),
      prevHash: z.string().nullable(),
      hash: z.string().nullable(),
      amount: moneyOut.optional().describe("transaction_created: the signed amount"),
      balanceAfter: moneyOut.optional(),
      data: eventData,
      metadata: Metadata,
    }),
  ),
  nextRevision: z.int().nullable().describe("pass as fromRevision for the next page"),
});
const fold = z.object({ balance: moneyOut, held: moneyOut, transactions: z.int() });
const problemFound = z.object({
  code: z.string(),
  detail: z.string(),
  eventId: z.string().optional(),
  type: z.string().optional(),
  revision: z.int().optional(),
  position: z.int().optional(),
});
const Audit = z.object({
  userId: z.string(),
  ok: z.boolean(),
  events: z.int(),
  lastRevision: z.int(),
  lastHash: z.string(),
  fromEvents: fold,
  readModel: fold.extend({ position: z.int(), expectedAtPosition: fold }).nullable(),
  lagging: z.boolean(),
  problems: z.array(problemFound),
});
/** money stays integer micro-USD here: moneyOut formats it */
const micro = (m: number) => m;
const Reconciliation = z.object({
  ok: z.boolean(),
  accounts: z.int(),
  events: z.int(),
  headPosition: z.int(),
  lagging: z.int(),
  mismatches: z.array(Audit),
});

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
        fromRevision: queryInt().default(0),
        limit: queryInt(1, 5000).default(500),
        types: eventsQuery.shape.types,
      }),
      response: { 200: Trail },
    },
    handler: async (request) => auditTrail(platform.events, request.params.userId, request.query),
  });

  app.get("/audit/verify/:userId", {
    config: { access: "user", scope: "billing:read", owner: { in: "params" } },
    schema: {
      tags,
      summary: "Hash chain, ledger and balance read model of one account, recomputed from its events",
      params: userIdParams,
      response: { 200: Audit },
    },
    handler: async (request) => {
      const { userId } = request.params;
      const audit = await verifyAccount(platform.events, platform.reads, userId);
      if (!audit) throw new HttpProblem("ACCOUNT.NOT_FOUND", `account ${userId} not found`);
      return auditJson(audit, micro);
    },
  });

  app.get("/audit/reconcile", {
    config: { access: "admin" },
    schema: {
      tags,
      summary: "Reconciliation: every account's chain, ledger and balance read model against its events (one pass over $all)",
      response: { 200: Reconciliation },
    },
    handler: async () => {
      const result = await reconcileAll(platform.events, platform.reads);
      return { ...result, mismatches: result.mismatches.map((a) => auditJson(a, micro)) };
    },
  });
}
