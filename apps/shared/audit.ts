import { notFound } from "../../domain/errors.ts";
import { accountStream } from "../../domain/events.ts";
import { formatMoney } from "../../domain/money.ts";
import type { Platform } from "./platform.ts";

/** The balance at instant `asOf`, folded from the account's events (not from a read model). */
export async function balanceAsOf(p: Platform, userId: string, asOf: string) {
  const events = await p.events.readStream(accountStream(userId));
  if (events.length === 0) throw notFound("ACCOUNT.NOT_FOUND", `account ${userId} not found`);
  const at = Date.parse(asOf);
  let balance = 0;
  let position = 0;
  let updatedAt: string | null = null;
  for (const event of events) {
    if (Date.parse(event.metadata.occurredAt) > at) break;
    if (event.type === "transaction_created") {
      balance += event.data.amount;
      position = event.position;
      updatedAt = event.metadata.occurredAt;
    }
  }
  return { userId, balance: formatMoney(balance), currency: "USD", asOf, updatedAt, position };
}
