import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { listAccounts } from "../../../projections/balances.ts";
import type { Platform } from "../../../application/platform.ts";
import { awaitPosition } from "../context.ts";
import { id, instantOut, minPosition, moneyOut, queryInt } from "../schemas.ts";

// Who is calling, and the operator's account list: what a console needs to know whose data it shows.

const money = moneyOut;
const Account = z.object({
  userId: z.string(),
  balance: money,
  held: money.describe("sum of active gateway holds"),
  available: money.describe("balance minus held"),
  currency: z.literal("USD"),
  transactions: z.int(),
  updatedAt: instantOut,
  position: z.int().describe("global position of the last event applied to this account's balance"),
});
const AccountList = z.object({
  items: z.array(Account),
  total: z.int().describe("accounts matching the prefix"),
  nextCursor: z.string().nullable(),
});

const Me = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("admin") }),
  z.object({
    kind: z.literal("user"),
    userId: z.string(),
    keyId: z.string(),
    scopes: z.array(z.string()),
    limits: z.object({ requestsPerMinute: z.int().optional(), tokensPerMinute: z.int().optional(), budget: money.optional() }),
  }),
]);

export async function accountRoutes(fastify: FastifyInstance, { platform }: { platform: Platform }) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  app.get("/auth/me", {
    config: { access: "any" },
    schema: {
      tags: ["auth"],
      summary: "The caller: the admin token, or an API key's user, scopes and limits (never its secret)",
      response: { 200: Me },
    },
    handler: async (request) => {
      const p = request.principal!;
      if (p.kind === "admin") return { kind: "admin" as const };
      const { budget, ...rates } = p.limits;
      return {
        kind: "user" as const,
        userId: p.userId,
        keyId: p.keyId,
        scopes: p.scopes,
        limits: { ...rates, ...(budget !== undefined ? { budget } : {}) },
      };
    },
  });

  app.get("/billing/accounts", {
    config: { access: "admin" },
    schema: {
      tags: ["billing"],
      summary: "Accounts (balances read model) whose user id starts with `prefix`, in id order, paginated by `cursor`",
      querystring: z.strictObject({
        prefix: z
          .string()
          .max(128)
          .regex(/^[A-Za-z0-9_.:@-]*$/, "letters, digits and _ . : @ - only")
          .default(""),
        limit: queryInt(1, 500).default(50),
        cursor: id.optional().describe("the nextCursor of the previous page"),
        minPosition,
      }),
      response: { 200: AccountList },
    },
    handler: async (request) => {
      const { prefix, limit, cursor } = request.query;
      await awaitPosition(platform, request.query.minPosition);
      const page = await listAccounts(platform.reads, prefix, limit, cursor);
      return {
        items: page.items.map((d) => ({
          userId: d.userId,
          balance: d.balance,
          held: d.held,
          available: d.balance - d.held,
          currency: d.currency,
          transactions: d.transactions,
          updatedAt: d.updatedAt,
          position: d._position,
        })),
        total: page.total,
        nextCursor: page.nextCursor,
      };
    },
  });
}
