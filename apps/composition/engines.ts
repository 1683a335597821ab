import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { EventStore } from "../../domain/event-store.ts";
import type { Config } from "../../infra/config.ts";
import { openSqliteEventStore, type SqliteEventStoreOptions } from "../../infra/sqlite/event-store.ts";
import { openSqliteReadStore } from "../../infra/sqlite/read-store.ts";
import type { ReadStore } from "../../projections/read-store.ts";

// The adapters each port gets, chosen by configuration (the composition root's factories call these).
// Vendor SDKs load only when configured: the embedded default does not pay their memory.

/** `sqlite`: options of the embedded store (its commit observer) */
export async function openEventStore(config: Config, sqlite: SqliteEventStoreOptions = {}): Promise<EventStore> {
  if (config.EVENT_STORE === "esdb") return (await import("../../infra/esdb/event-store.ts")).openEsdbEventStore(config.ESDB_URL!);
  if (config.EVENT_STORE === "postgres")
    return (await import("../../infra/postgres/event-store.ts")).openPostgresEventStore(config.POSTGRES_URL!);
  return openSqliteEventStore(join(dataDir(config), "events.db"), sqlite);
}

export async function openReadStore(config: Config): Promise<ReadStore> {
  if (config.READ_STORE === "mongo")
    return (await import("../../infra/mongo/read-store.ts")).openMongoReadStore(config.MONGO_URL!, config.MONGO_DB);
  return openSqliteReadStore(join(dataDir(config), "read.db"));
}

function dataDir(config: Config) {
  const dir = resolve(config.DATA_DIR);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export interface AdminToken {
  token: string;
  /** where a generated token was written (unset when ADMIN_TOKEN is given) */
  file?: string;
}

/** ADMIN_TOKEN, or one generated once into DATA_DIR/admin-token (0600). */
export function adminTokenOf(config: Config): AdminToken {
  if (config.ADMIN_TOKEN) return { token: config.ADMIN_TOKEN };
  const file = join(dataDir(config), "admin-token");
  if (!existsSync(file)) writeFileSync(file, `adm_${randomBytes(32).toString("base64url")}\n`, { mode: 0o600 });
  return { token: readFileSync(file, "utf8").trim(), file };
}
