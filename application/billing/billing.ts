import { randomUUID } from "node:crypto";
import { accountDecider, type AccountCommand } from "../../domain/account.ts";
import { pricesAt, type Catalog } from "../../domain/catalog.ts";
import { ruleViolated } from "../../domain/errors.ts";
import { accountStream, type NewEvent, type Prices } from "../../domain/events.ts";
import { costOf } from "../../domain/money.ts";
import type { CommandContext } from "../commands/command-handler.ts";
import type { Platform } from "../platform.ts";

// Billing use cases shared by the API and the CLI: build the command, run it on the account stream,
// shape the answer. Money stays integer micro-USD: the edge formats it (apps/api/money-schema.ts).

type AccountData<T extends AccountCommand["type"]> = Extract<AccountCommand, { type: T }>["data"];

async function run<T extends AccountCommand["type"]>(platform: Platform, ctx: CommandContext, type: T, data: AccountData<T>) {
  const command = { type, data, now: ctx.now } as AccountCommand;
  const r = await platform.commands.handle(accountStream(data.userId), accountDecider, command, ctx);
  return { ...r, balance: balanceAfter(r.events) };
}

/** the balance after this command: its last transaction_created says it */
function balanceAfter(events: NewEvent[]): number {
  const last = events.findLast((e) => e.type === "transaction_created");
  if (!last || last.type !== "transaction_created") throw new Error("command appended no transaction");
  return last.data.balanceAfter;
}

/** a caller-chosen id, or a new one; with an Idempotency-Key the new one is derived from it */
const idFor = (ctx: CommandContext, kind: string, given?: string) =>
  given ?? (ctx.idempotencyScope ? `${kind}_${ctx.idempotencyScope.slice(0, 24)}` : `${kind}_${randomUUID().replace(/-/g, "").slice(0, 24)}`);

export async function processPayment(p: Platform, ctx: CommandContext, input: Omit<AccountData<"processPayment">, "transactionId" | "paymentId"> & { paymentId?: string }) {
  const paymentId = idFor(ctx, "pay", input.paymentId);
  const r = await run(p, ctx, "processPayment", { ...input, paymentId, transactionId: `txn_${paymentId}` });
  return { paymentId, transactionId: `txn_${paymentId}`, userId: input.userId, amount: input.amount, balance: r.balance, position: r.position };
}

export async function refundPayment(p: Platform, ctx: CommandContext, input: Omit<AccountData<"refundPayment">, "transactionId" | "refundId"> & { refundId?: string }) {
  const refundId = idFor(ctx, "rfd", input.refundId);
  const r = await run(p, ctx, "refundPayment", { ...input, refundId, transactionId: `txn_${refundId}` });
  const refunded = r.events.find((e) => e.type === "payment_refunded")!.data as { amount: number };
  return { refundId, transactionId: `txn_${refundId}`, paymentId: input.paymentId, userId: input.userId, amount: refunded.amount, balance: r.balance, position: r.position };
}

export async function createTransaction(p: Platform, ctx: CommandContext, input: Omit<AccountData<"createTransaction">, "transactionId"> & { transactionId?: string }) {
  const transactionId = idFor(ctx, "txn", input.transactionId);
  const r = await run(p, ctx, "createTransaction", { ...input, transactionId });
  const created = r.events.find((e) => e.type === "transaction_created")!.data as { amount: number };
  return { transactionId, userId: input.userId, type: input.type, amount: created.amount, balance: r.balance, position: r.position };
}

type UsageOptional = "usageId" | "requestId" | "cost" | "apiKeyId" | "timestamp";
/** the trackUsage command's data; ids, cost and time may be left to the platform */
export type TrackUsageInput = Omit<AccountData<"trackUsage">, UsageOptional | "transactionId" | "prices"> &
  Partial<Pick<AccountData<"trackUsage">, UsageOptional>>;

/** the catalog price for a usage at its time, or the explicit cost with the catalog prices when known */
function priceUsage(catalog: Catalog, input: TrackUsageInput, at: string): { cost: number; prices: Prices } {
  const prices = pricesAt(catalog, input.model, at, input.provider) ?? pricesAt(catalog, input.model, at);
  if (input.cost !== undefined) return { cost: input.cost, prices: prices ?? { promptPerMillion: 0, completionPerMillion: 0, catalogVersion: "explicit" } };
  if (!prices) throw ruleViolated("USAGE.UNPRICED", `model ${input.model} has no catalog price at ${at}; send cost explicitly`);
  return { cost: costOf(input.promptTokens, input.completionTokens, prices), prices };
}

export async function trackUsage(p: Platform, ctx: CommandContext, input: TrackUsageInput) {
  const timestamp = input.timestamp ?? ctx.now;
  const usageId = idFor(ctx, "use", input.usageId);
  const { cost, prices } = priceUsage(p.catalog, input, timestamp);
  const data = { ...input, usageId, transactionId: `txn_${usageId}`, requestId: input.requestId ?? usageId, cost, prices, timestamp };
  const r = await run(p, ctx, "trackUsage", data);
  return { usageId, transactionId: data.transactionId, userId: input.userId, cost, balance: r.balance, position: r.position };
}
