import type { Catalog } from "../../domain/catalog.ts";
import type { EventStore } from "../../domain/event-store.ts";
import type { ReadStore } from "../../projections/read-store.ts";
import type { Config } from "../../infra/config.ts";
import type { CommandHandler } from "./handle-command.ts";
import type { ProjectorHandle } from "./projector-handle.ts";

/** Everything an app needs, resolved once at the edge (apps/shared/container.ts) and passed down. */
export interface Platform {
  config: Config;
  events: EventStore;
  reads: ReadStore;
  commands: CommandHandler;
  projector: ProjectorHandle;
  adminToken: string;
  /** where a generated admin token was written (unset when ADMIN_TOKEN is given) */
  adminTokenFile?: string;
  catalog: Catalog;
  /** ISO-8601 UTC; tests may fix it */
  now(): string;
}
