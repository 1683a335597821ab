import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import type { TransactionType } from "../../../domain/events.ts";
import { getBalance } from "../../../projections/balances.ts";
import { listTransactions } from "../../../projections/transactions.ts";
import { usageReport } from "../../../projections/usage-report.ts";
import { balanceAsOf } from "../../../application/audit/audit.ts";
import * as billing from "../../../application/billing/billing.ts";
import type { Platform } from "../../../application/platform.ts";
import { problem } from "../contract.ts";
import { awaitPosition, commandContext } from "../context.ts";
import { HttpProblem } from "../problem.ts";
import {
  id,
  instantOut,
  isoTime,
  text,
  minPosition,
  moneyOut,
  nonNegativeMoney,
  nonZeroMoney,
  positionOut,
  positiveMoney,
  queryInt,
  userIdParams,
} from "../schemas.ts";

const TRANSACTION_TYPES = ["payment", "refund", "usage", "credit", "debit", "adjustment"] as const satisfies readonly TransactionType[];
const tokens = z.int().min(0).max(100_000_000);

const Balance = z.object({
  userId: z.string(),
  balance: moneyOut,
  held: moneyOut.optional().describe("held by gateway requests in flight (not with asOf)"),
  available: moneyOut.optional().describe("balance minus held (not with asOf)"),
  currency: z.literal("USD"),
  updatedAt: instantOut.nullable(),
  position: positionOut,
  asOf: instantOut.optional(),
  transactions: z.int().optional().describe("with asOf: transactions up to that instant"),
});
const Payment = z.object({
  paymentId: z.string(),
  transactionId: z.string(),
  userId: z.string(),
  amount: moneyOut,
  balance: moneyOut,
  position: positionOut,
});
const Refund = z.object({
  refundId: z.string(),
  transactionId: z.string(),
  paymentId: z.string(),
  userId: z.string(),
  amount: moneyOut,
  balance: moneyOut,
  position: positionOut,
});
const Transaction = z.object({
  transactionId: z.string(),
  userId: z.string(),
  type: z.enum(["credit", "debit", "adjustment"]),
  amount: moneyOut,
  balance: moneyOut,
  position: positionOut,
});
const Usage = z.object({
  usageId: z.string(),
  transactionId: z.string(),
  userId: z.string(),
  cost: moneyOut,
  balance: moneyOut,
  position: positionOut,
});
const History = z.object({
  items: z.array(
    z.object({
      transactionId: z.string(),
      type: z.enum(TRANSACTION_TYPES),
      amount: moneyOut,
      balanceAfter: moneyOut,
      timestamp: instantOut,
      metadata: z.record(z.string(), z.string()),
      position: positionOut,
    }),
  ),
  nextCursor: z.string().nullable().describe("pass as cursor for the next (older) page"),
});
const usageSums = { requests: z.int(), promptTokens: z.int(), completionTokens: z.int(), tokens: z.int(), cost: moneyOut };
const Report = z.object({
  userId: z.string(),
  from: z.iso.date(),
  to: z.iso.date(),
  totals: z.object(usageSums),
  byDay: z.array(z.object({ day: z.iso.date(), ...usageSums })),
  byModel: z.array(z.object({ provider: z.string(), model: z.string(), ...usageSums })),
  daily: z
    .array(z.object({ day: z.iso.date(), provider: z.string(), model: z.string(), ...usageSums }))
    .describe("one row per day, provider and model"),
});
const notFound = (what: string) => ({ 404: problem(`no such ${what} (${what.toUpperCase()}.NOT_FOUND)`) });

export async function billingRoutes(fastify: FastifyInstance, { platform }: { platform: Platform }) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const tags = ["billing"];

  app.get("/billing/balance/:userId", {
    config: { access: "user", scope: "billing:read", owner: { in: "params" } },
    schema: {
      tags,
      summary: "Balance of an account (asOf: time travel, see /audit)",
      params: userIdParams,
      querystring: z.strictObject({ minPosition, asOf: isoTime.optional() }),
      response: { 200: Balance },
    },
    handler: async (request) => {
      const { userId } = request.params;
      await awaitPosition(platform, request.query.minPosition);
      if (request.query.asOf) return balanceAsOf(platform, userId, request.query.asOf);
      const doc = await getBalance(platform.reads, userId);
      if (!doc) throw new HttpProblem("ACCOUNT.NOT_FOUND", `account ${userId} not found`);
      return {
        userId,
        balance: doc.balance,
        held: doc.held,
        available: doc.balance - doc.held,
        currency: doc.currency,
        updatedAt: doc.updatedAt,
        position: doc._position,
      };
    },
  });

  app.post("/billing/payment/process", {
    config: { access: "admin" },
    schema: {
      tags,
      summary: "Top up a prepaid balance",
      body: z.strictObject({
        userId: id,
        amount: positiveMoney,
        currency: z.literal("USD").default("USD"),
        method: text(64).default("manual"),
        paymentId: id.optional(),
        externalRef: text(200).optional(),
      }),
      response: {
        201: Payment,
        409: problem("a payment with this id exists (PAYMENT.DUPLICATE)"),
        422: problem("the balance would overflow (MONEY.OVERFLOW)"),
      },
    },
    handler: async (request, reply) =>
      reply.code(201).send(await billing.processPayment(platform, commandContext(request, platform), request.body)),
  });

  app.post("/billing/payment/refund", {
    config: { access: "admin" },
    schema: {
      tags,
      summary: "Refund all or part of a payment",
      body: z.strictObject({
        userId: id,
        paymentId: id,
        amount: positiveMoney.optional(),
        refundId: id.optional(),
        reason: text(500).optional(),
      }),
      response: {
        201: Refund,
        ...notFound("payment"),
        409: problem("a refund with this id exists (REFUND.DUPLICATE)"),
        422: problem("more than is left of the payment (PAYMENT.OVER_REFUND), the available balance does not cover it"),
      },
    },
    handler: async (request, reply) =>
      reply.code(201).send(await billing.refundPayment(platform, commandContext(request, platform), request.body)),
  });

  app.post("/billing/transaction", {
    config: { access: "admin" },
    schema: {
      tags,
      summary: "Credit, debit or adjustment (a debit beyond the available balance is 422)",
      body: z.discriminatedUnion("type", [
        z.strictObject({
          userId: id,
          type: z.enum(["credit", "debit"]),
          amount: positiveMoney,
          transactionId: id.optional(),
          description: text(500).optional(),
        }),
        z.strictObject({
          userId: id,
          type: z.literal("adjustment"),
          amount: nonZeroMoney,
          transactionId: id.optional(),
          description: text(500).optional(),
        }),
      ]),
      response: {
        201: Transaction,
        409: problem("a transaction with this id exists (TRANSACTION.DUPLICATE)"),
        422: problem("a debit beyond the available balance (ACCOUNT.INSUFFICIENT_FUNDS), or an overflow (MONEY.OVERFLOW)"),
      },
    },
    handler: async (request, reply) =>
      reply.code(201).send(await billing.createTransaction(platform, commandContext(request, platform), request.body)),
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
        cost: nonNegativeMoney.optional(),
        apiKeyId: id.optional(),
        timestamp: isoTime.optional(),
      }),
      response: {
        201: Usage,
        409: problem("a usage with this id exists (USAGE.DUPLICATE)"),
        422: problem("the model has no catalog price (USAGE.UNPRICED)"),
      },
    },
    handler: async (request, reply) =>
      reply.code(201).send(await billing.trackUsage(platform, commandContext(request, platform), request.body)),
  });

  app.get("/billing/transactions/:userId", {
    config: { access: "user", scope: "billing:read", owner: { in: "params" } },
    schema: {
      tags,
      summary: "Transaction history, newest first, with a cursor",
      params: userIdParams,
      querystring: z.strictObject({
        limit: queryInt(1, 500).default(50),
        cursor: queryInt(1).optional().describe("nextCursor of the previous page"),
        minPosition,
      }),
      response: { 200: History },
    },
    handler: async (request) => {
      const { userId } = request.params;
      await awaitPosition(platform, request.query.minPosition);
      if (!(await getBalance(platform.reads, userId))) throw new HttpProblem("ACCOUNT.NOT_FOUND", `account ${userId} not found`);
      const page = await listTransactions(platform.reads, userId, request.query.limit, request.query.cursor);
      return {
        items: page.items.map((t) => ({
          transactionId: t.transactionId,
          type: t.type,
          amount: t.amount,
          balanceAfter: t.balanceAfter,
          timestamp: t.timestamp,
          metadata: t.metadata,
          position: t._position,
        })),
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
      response: { 200: Report, 422: problem("from is after to (REQUEST.RANGE_INVALID)") },
    },
    handler: async (request) => {
      const { userId } = request.params;
      await awaitPosition(platform, request.query.minPosition);
      if (!(await getBalance(platform.reads, userId))) throw new HttpProblem("ACCOUNT.NOT_FOUND", `account ${userId} not found`);
      const to = request.query.to ?? platform.now().slice(0, 10);
      const from = request.query.from ?? new Date(Date.parse(to) - 29 * 86_400_000).toISOString().slice(0, 10);
      if (from > to) throw new HttpProblem("REQUEST.RANGE_INVALID", "from must not be after to");
      return { userId, from, to, ...(await usageReport(platform.reads, userId, from, to)) };
    },
  });
}
