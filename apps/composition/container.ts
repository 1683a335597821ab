import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { container, type DependencyContainer, type InjectionToken } from "tsyringe";
import { accountDecider } from "../../domain/account.ts";
import { analyticsDecider } from "../../domain/analytics.ts";
import { apiKeyDecider } from "../../domain/api-key.ts";
import type { EventStore } from "../../domain/event-store.ts";
import { accountStream, analyticsStream, apiKeyStream } from "../../domain/events.ts";
import type { Config } from "../../infra/config.ts";
import { loadCatalog } from "../../infra/catalog/load.ts";
import { openSqliteEventStore } from "../../infra/sqlite/event-store.ts";
import { openSqliteReadStore } from "../../infra/sqlite/read-store.ts";
import { allProjections } from "../../projections/index.ts";
import type { ReadStore } from "../../projections/read-store.ts";
import { createCommandHandler, type CommandHandler } from "../../application/commands/command-handler.ts";
import type { Platform } from "../../application/platform.ts";
import { startProjector, watchProjector, type ProjectorHandle } from "../../projections/projector-handle.ts";

// The composition root: the one place adapters are chosen and bound (tsyringe, factories on typed
// tokens, no decorators). Apps resolve a Platform once at the edge and pass plain objects down.

export const TOKENS = {
  config: Symbol("Config") as InjectionToken<Config>,
  events: Symbol("EventStore") as InjectionToken<EventStore>,
  reads: Symbol("ReadStore") as InjectionToken<ReadStore>,
  commands: Symbol("CommandHandler") as InjectionToken<CommandHandler>,
  projector: Symbol("ProjectorHandle") as InjectionToken<ProjectorHandle>,
};

export interface PlatformOptions {
  /** run the projector in this process (npm start, tests); false: follow the checkpoint of another one */
  projector?: boolean;
  onProjectorError?: (error: unknown) => void;
  now?: () => string;
}

export async function openEventStore(config: Config): Promise<EventStore> {
  // vendor SDKs load only when configured: the embedded default does not pay their memory
  if (config.EVENT_STORE === "esdb") return (await import("../../infra/esdb/event-store.ts")).openEsdbEventStore(config.ESDB_URL!);
  if (config.EVENT_STORE === "postgres") return (await import("../../infra/postgres/event-store.ts")).openPostgresEventStore(config.POSTGRES_URL!);
  return openSqliteEventStore(join(dataDir(config), "events.db"));
}

export async function openReadStore(config: Config): Promise<ReadStore> {
  if (config.READ_STORE === "mongo") return (await import("../../infra/mongo/read-store.ts")).openMongoReadStore(config.MONGO_URL!, config.MONGO_DB);
  return openSqliteReadStore(join(dataDir(config), "read.db"));
}

function dataDir(config: Config) {
  const dir = resolve(config.DATA_DIR);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** ADMIN_TOKEN, or one generated once into DATA_DIR/admin-token (0600). */
function adminTokenOf(config: Config): { adminToken: string; adminTokenFile?: string } {
  if (config.ADMIN_TOKEN) return { adminToken: config.ADMIN_TOKEN };
  const file = join(dataDir(config), "admin-token");
  if (!existsSync(file)) writeFileSync(file, `adm_${randomBytes(32).toString("base64url")}\n`, { mode: 0o600 });
  return { adminToken: readFileSync(file, "utf8").trim(), adminTokenFile: file };
}

export async function createPlatform(config: Config, options: PlatformOptions = {}): Promise<Platform & { config: Config; close(): Promise<void> }> {
  const scope: DependencyContainer = container.createChildContainer();
  scope.register(TOKENS.config, { useValue: config });
  scope.register(TOKENS.events, { useValue: await openEventStore(config) });
  scope.register(TOKENS.reads, { useValue: await openReadStore(config) });
  scope.register(TOKENS.commands, { useFactory: (c) => createCommandHandler(c.resolve(TOKENS.events)) });
  const events = scope.resolve(TOKENS.events);
  const reads = scope.resolve(TOKENS.reads);
  const projector =
    options.projector === false || !config.RUN_PROJECTOR
      ? watchProjector(events, reads)
      : await startProjector(events, reads, allProjections, options.onProjectorError ?? ((e) => console.error("projector:", e)));
  scope.register(TOKENS.projector, { useValue: projector });
  return {
    config,
    events,
    reads,
    accounts: scope.resolve(TOKENS.commands).for(accountDecider, accountStream),
    apiKeys: scope.resolve(TOKENS.commands).for(apiKeyDecider, apiKeyStream),
    analytics: scope.resolve(TOKENS.commands).for(analyticsDecider, analyticsStream),
    projector: scope.resolve(TOKENS.projector),
    ...adminTokenOf(config),
    catalog: loadCatalog(),
    now: options.now ?? (() => new Date().toISOString()),
    async close() {
      await projector.stop();
      await events.close();
      await reads.close();
      scope.dispose();
    },
  };
}
