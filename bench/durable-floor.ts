// The floor of a gateway that bills durably: what bench/bare-proxy.ts adds when each request also makes its
// billing events durable before it answers, as ours does (DESIGN.md: a 2xx means its events are fsynced).
// The events are the four of one plain request of ours (usage_reserved, then ai_usage + transaction_created +
// usage_released), with values of the same shape and size, chained by the domain's hash chain, on a stream of
// their own. No auth, quote, limits, balance, read model, log or metric. Two ways of committing them:
//   store:  infra/sqlite's event store (its writer thread, schema, indexes, pragmas, group commit);
//   inline: one better-sqlite3 transaction on the main thread, same schema and pragmas: no thread hop
//           at all, the least a commit can take here (it blocks the loop for its fsync).
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { AppendResult, ExpectedRevision } from "../domain/event-store.ts";
import type { NewEvent } from "../domain/events.ts";
import { chain, GENESIS_HASH } from "../domain/hash-chain.ts";
import { openSqliteEventStore } from "../infra/sqlite/event-store.ts";

export type DurableKind = "store" | "inline";
type Append = (stream: string, events: NewEvent[], expected: ExpectedRevision) => Promise<AppendResult>;

/**
 * The event table of infra/sqlite (its schema, made by opening the store) on a connection of this thread with
 * its writer's pragmas, and the writer's INSERT: what a commit costs without the writer thread.
 */
export function openEventTable(file: string) {
  void openSqliteEventStore(file).close(); // the real schema; no append, so no writer thread
  const db = new Database(file);
  for (const pragma of ["journal_mode = WAL", "synchronous = FULL", "temp_store = MEMORY", "cache_size = -4096"]) db.pragma(pragma);
  const insert = db.prepare<[string, number, string, string, string, string, string]>(
    "INSERT INTO events (stream, revision, event_id, type, data, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  return { db, insert };
}

/** an append that resolves once `events` are fsynced in a fresh SQLite event store under the temp folder (removed by close) */
export function durableAppend(kind: DurableKind): { append: Append; close(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), "aggregator-bench-durable-floor-"));
  const file = join(dir, "events.db");
  const removed = () => rmSync(dir, { recursive: true, force: true });
  if (kind === "store") {
    const store = openSqliteEventStore(file);
    return { append: store.append.bind(store), close: () => store.close().then(removed) };
  }
  const { db, insert } = openEventTable(file);
  const write = db.transaction((stream: string, events: NewEvent[], from: number) => {
    const at = new Date().toISOString();
    events.forEach((e, i) =>
      insert.run(stream, from + i, e.metadata.eventId, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata), at),
    );
  });
  return {
    append: async (stream, events, expected) => {
      const from = expected === "no_stream" ? 0 : Number(expected) + 1;
      write.immediate(stream, events, from);
      return { nextExpectedRevision: from + events.length - 1, position: 0 };
    },
    close: async () => {
      db.close();
      removed();
    },
  };
}

/** one request's events: its hold, then its settlement, as ours appends them */
export function requestEvents() {
  const id = randomUUID().replace(/-/g, "");
  const userId = "floor-user";
  const at = new Date().toISOString();
  const [requestId, reservationId, usageId] = [`req_${id}`, `rsv_${id}`, `use_${randomUUID().replace(/-/g, "")}`];
  const amount = 41_000;
  const metadata = () => ({
    eventId: randomUUID(),
    occurredAt: at,
    actor: { type: "apiKey" as const, id: "key_floor" },
    correlationId: requestId,
    causationId: requestId,
    schemaVersion: 1 as const,
  });
  let prevHash = GENESIS_HASH;
  const chained = (events: NewEvent[]) => {
    const out = chain(prevHash, events);
    prevHash = out.at(-1)!.metadata.hash!;
    return out;
  };
  const hold = (): NewEvent[] =>
    chained([
      {
        type: "usage_reserved",
        data: { userId, reservationId, requestId, amount, expiresAt: at, apiKeyId: "key_floor" },
        metadata: metadata(),
      },
    ]);
  const settlement = (): NewEvent[] => {
    const prices = { promptPerMillion: 150_000, completionPerMillion: 600_000, catalogVersion: "2026-11-01" };
    return chained([
      {
        type: "ai_usage",
        data: {
          userId,
          usageId,
          requestId,
          service: "chat",
          resource: "chat.completions",
          provider: "openai",
          model: "gpt-4o-mini",
          promptTokens: 12,
          completionTokens: 9,
          tokens: 21,
          cost: 8,
          prices,
          apiKeyId: "key_floor",
          reservationId,
          timestamp: at,
          usageSource: "provider",
        },
        metadata: metadata(),
      },
      {
        type: "transaction_created",
        data: {
          userId,
          transactionId: `txn_${usageId}`,
          amount: -8,
          type: "usage",
          balanceAfter: 99_999_992,
          timestamp: at,
          metadata: { usageId, model: "gpt-4o-mini" },
        },
        metadata: metadata(),
      },
      { type: "usage_released", data: { userId, reservationId, requestId, amount, reason: "settled" }, metadata: metadata() },
    ] as NewEvent[]);
  };
  return { stream: `account-floor-${id}`, hold, settlement };
}
