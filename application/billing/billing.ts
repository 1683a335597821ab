import { randomUUID } from "node:crypto";
import type { AccountCommand } from "../../domain/account.ts";
import { pricesAt, type Catalog } from "../../domain/catalog.ts";
import { ruleViolated } from "../../domain/errors.ts";
import type { Prices } from "../../domain/events.ts";
import { costOf } from "../../domain/money.ts";
import type { CommandContext, CommandResult } from "../commands/command-handler.ts";
import type { Platform } from "../platform.ts";

// Billing use cases shared by the API and the CLI: build the command, run it on the account stream,
// shape the answer. Money stays integer micro-USD: the edge formats it (apps/api/money-schema.ts).

type AccountData<T extends AccountCommand["type"]> = Extract<AccountCommand, { type: T }>["data"];
type Billing = Pick<Platform, "accounts">;

/** the balance after this command: its last transaction_created says it */
function balanceAfter({ events }: CommandResult): number {
  const last = events.findLast((e) => e.type === "transaction_created");
  if (!last || last.type !== "transaction_created") throw new Error("command appended no transaction");
  return last.data.balanceAfter;
}

/** the amount of the first event of this type the command appended */
const amountOf = ({ events }: CommandResult, type: "payment_refunded" | "transaction_created") =>
  (events.find((e) => e.type === type)!.data as { amount: number }).amount;

/** no caller-chosen id and no Idempotency-Key to derive one from: idFor draws the id at random */
const drawsId = (ctx: CommandContext, given?: string) => given === undefined && !ctx.idempotencyScope;

/** a caller-chosen id, or a new one; with an Idempotency-Key the new one is derived from it */
const idFor = (ctx: CommandContext, kind: string, given?: string) =>
  given ??
  (drawsId(ctx, given) ? `${kind}_${randomUUID().replace(/-/g, "").slice(0, 24)}` : `${kind}_${ctx.idempotencyScope!.slice(0, 24)}`);

export async function processPayment(
  p: Billing,
  ctx: CommandContext,
  input: Omit<AccountData<"processPayment">, "transactionId" | "paymentId"> & { paymentId?: string },
) {
  const paymentId = idFor(ctx, "pay", input.paymentId);
  const transactionId = `txn_${paymentId}`;
  const r = await p.accounts.handle(
    input.userId,
    { type: "processPayment", data: { ...input, paymentId, transactionId }, now: ctx.now },
    ctx,
  );
  return { paymentId, transactionId, userId: input.userId, amount: input.amount, balance: balanceAfter(r), position: r.position };
}

export async function refundPayment(
  p: Billing,
  ctx: CommandContext,
  input: Omit<AccountData<"refundPayment">, "transactionId" | "refundId"> & { refundId?: string },
) {
  const refundId = idFor(ctx, "rfd", input.refundId);
  const transactionId = `txn_${refundId}`;
  const r = await p.accounts.handle(
    input.userId,
    { type: "refundPayment", data: { ...input, refundId, transactionId }, now: ctx.now },
    ctx,
  );
  return {
    refundId,
    transactionId,
    paymentId: input.paymentId,
    userId: input.userId,
    amount: amountOf(r, "payment_refunded"),
    balance: balanceAfter(r),
    position: r.position,
  };
}

export async function createTransaction(
  p: Billing,
  ctx: CommandContext,
  input: Omit<AccountData<"createTransaction">, "transactionId"> & { transactionId?: string },
) {
  const transactionId = idFor(ctx, "txn", input.transactionId);
  const r = await p.accounts.handle(input.userId, { type: "createTransaction", data: { ...input, transactionId }, now: ctx.now }, ctx);
  return {
    transactionId,
    userId: input.userId,
    type: input.type,
    amount: amountOf(r, "transaction_created"),
    balance: balanceAfter(r),
    position: r.position,
  };
}

type UsageOptional = "usageId" | "requestId" | "cost" | "apiKeyId" | "timestamp";
/** the trackUsage command's data; ids, cost and time may be left to the platform */
export type TrackUsageInput = Omit<AccountData<"trackUsage">, UsageOptional | "transactionId" | "prices"> &
  Partial<Pick<AccountData<"trackUsage">, UsageOptional>>;

/** the catalog price for a usage at its time, or the explicit cost with the catalog prices when known */
function priceUsage(catalog: Catalog, input: TrackUsageInput, at: string): { cost: number; prices: Prices } {
  const prices = pricesAt(catalog, input.model, at, input.provider) ?? pricesAt(catalog, input.model, at);
  if (input.cost !== undefined)
    return { cost: input.cost, prices: prices ?? { promptPerMillion: 0, completionPerMillion: 0, catalogVersion: "explicit" } };
  if (!prices) throw ruleViolated("USAGE.UNPRICED", `model ${input.model} has no catalog price at ${at}; send cost explicitly`);
  return { cost: costOf(input.promptTokens, input.completionTokens, prices), prices };
}

export async function trackUsage(p: Pick<Platform, "accounts" | "catalog">, ctx: CommandContext, input: TrackUsageInput) {
  const timestamp = input.timestamp ?? ctx.now;
  const usageId = idFor(ctx, "use", input.usageId);
  const { cost, prices } = priceUsage(p.catalog, input, timestamp);
  const data = { ...input, usageId, transactionId: `txn_${usageId}`, requestId: input.requestId ?? usageId, cost, prices, timestamp };
  const freshIds = drawsId(ctx, input.usageId) ? { freshIds: true as const } : {};
  const r = await p.accounts.handle(input.userId, { type: "trackUsage", data, now: ctx.now, ...freshIds }, ctx);
  return { usageId, transactionId: data.transactionId, userId: input.userId, cost, balance: balanceAfter(r), position: r.position };
}
