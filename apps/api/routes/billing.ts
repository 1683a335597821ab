import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { formatMoney } from "../../../domain/money.ts";
import { getBalance, listTransactions, usageReport } from "../../../projections/queries.ts";
import { balanceAsOf } from "../../shared/audit.ts";
import * as billing from "../../shared/billing.ts";
import type { Platform } from "../../shared/platform.ts";
import { awaitPosition, commandContext } from "../context.ts";
import { HttpProblem } from "../problem.ts";
import { id, isoTime, minPosition, money, positiveMoney, userIdParams } from "../schemas.ts";

const tokens = z.number().int().min(0).max(100_000_000);
const text = (max: number) => z.string().min(1).max(max);

export async function billingRoutes(fastify: FastifyInstance, { platform }: { platform: Platform }) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const tags = ["billing"];

  app.get("/billing/balance/:userId", {
    config: { access: "user", scope: "billing:read", owner: { in: "params" } },
    schema: { tags, summary: "Balance of an account (asOf: time travel, see /audit)", params: userIdParams, querystring: z.strictObject({ minPosition, asOf: isoTime.optional() }) },
    handler: async (request) => {
      const { userId } = request.params;
      await awaitPosition(platform, request.query.minPosition);
      if (request.query.asOf) return balanceAsOf(platform, userId, request.query.asOf);
      const doc = await getBalance(platform.reads, userId);
      if (!doc) throw new HttpProblem(404, "ACCOUNT.NOT_FOUND", `account ${userId} not found`);
      return { userId, balance: formatMoney(doc.balance), held: formatMoney(doc.held), available: formatMoney(doc.balance - doc.held), currency: doc.currency, updatedAt: doc.updatedAt, position: doc._position };
    },
  });

  app.post("/billing/payment/process", {
    config: { access: "admin" },
    schema: {
      tags,
      summary: "Top up a prepaid balance",
      body: z.strictObject({ userId: id, amount: positiveMoney, currency: z.literal("USD").default("USD"), method: text(64).default("manual"), paymentId: id.optional(), externalRef: text(200).optional() }),
    },
    handler: async (request, reply) => reply.code(201).send(await billing.processPayment(platform, commandContext(request, platform), request.body)),
  });

  app.post("/billing/payment/refund", {
    config: { access: "admin" },
    schema: {
      tags,
      summary: "Refund all or part of a payment",
      body: z.strictObject({ userId: id, paymentId: id, amount: positiveMoney.optional(), refundId: id.optional(), reason: text(500).optional() }),
    },
    handler: async (request, reply) => reply.code(201).send(await billing.refundPayment(platform, commandContext(request, platform), request.body)),
  });

  app.post("/billing/transaction", {
    config: { access: "admin" },
    schema: {
      tags,
      summary: "Credit, debit or adjustment (a debit beyond the available balance is 422)",
      body: z
        .strictObject({ userId: id, type: z.enum(["credit", "debit", "adjustment"]), amount: money, transactionId: id.optional(), description: text(500).optional() })
        .refine((b) => (b.type === "adjustment" ? b.amount !== 0 : b.amount > 0), { message: "credit and debit need a positive amount, an adjustment a non-zero one", path: ["amount"] }),
    },
    handler: async (request, reply) => reply.code(201).send(await billing.createTransaction(platform, commandContext(request, platform), request.body)),
  });

  app.post("/billing/usage/track", {
    config: { access: "admin" },
    schema: {
      tags,
      summary: "Record usage; cost from the catalog unless given; never refused for funds",
      body: z.strictObject({
        userId: id,
        usageId: id.optional(),
        requestId: id.optional(),
        service: text(100).default("chat"),
        resource: text(200).default("chat.completions"),
        provider: text(100),
        model: text(200),
        promptTokens: tokens,
        completionTokens: tokens,
        cost: money.refine((m) => m >= 0, "must not be negative").optional(),
        apiKeyId: id.optional(),
        timestamp: isoTime.optional(),
      }),
    },
    handler: async (request, reply) => reply.code(201).send(await billing.trackUsage(platform, commandContext(request, platform), request.body)),
  });

  app.get("/billing/transactions/:userId", {
    config: { access: "user", scope: "billing:read", owner: { in: "params" } },
    schema: {
      tags,
      summary: "Transaction history, newest first, with a cursor",
      params: userIdParams,
      querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(50), cursor: z.coerce.number().int().min(1).optional(), minPosition }),
    },
    handler: async (request) => {
      const { userId } = request.params;
      await awaitPosition(platform, request.query.minPosition);
      if (!(await getBalance(platform.reads, userId))) throw new HttpProblem(404, "ACCOUNT.NOT_FOUND", `account ${userId} not found`);
      const page = await listTransactions(platform.reads, userId, request.query.limit, request.query.cursor);
      return {
        items: page.items.map((t) => ({ transactionId: t.transactionId, type: t.type, amount: formatMoney(t.amount), balanceAfter: formatMoney(t.balanceAfter), timestamp: t.timestamp, metadata: t.metadata, position: t._position })),
        nextCursor: page.nextCursor === null ? null : String(page.nextCursor),
      };
    },
  });

  app.get("/billing/report/:userId", {
    config: { access: "user", scope: "billing:read", owner: { in: "params" } },
    schema: {
      tags,
      summary: "Usage by day, model and provider over from/to (days, inclusive); `daily`: one row per day × provider × model",
      params: userIdParams,
      querystring: z.strictObject({ from: z.iso.date().optional(), to: z.iso.date().optional(), minPosition }),
    },
    handler: async (request) => {
      const { userId } = request.params;
      await awaitPosition(platform, request.query.minPosition);
      if (!(await getBalance(platform.reads, userId))) throw new HttpProblem(404, "ACCOUNT.NOT_FOUND", `account ${userId} not found`);
      const to = request.query.to ?? platform.now().slice(0, 10);
      const from = request.query.from ?? new Date(Date.parse(to) - 29 * 86_400_000).toISOString().slice(0, 10);
      if (from > to) throw new HttpProblem(400, "REQUEST.INVALID", "from must not be after to");
      const report = await usageReport(platform.reads, userId, from, to);
      const cost = <T extends { cost: bigint }>(row: T) => ({ ...row, cost: formatMoney(row.cost) });
      return { userId, from, to, totals: cost(report.totals), byDay: report.byDay.map(cost), byModel: report.byModel.map(cost), daily: report.daily.map(cost) };
    },
  });
}
