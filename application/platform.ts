import type { Catalog } from "../domain/catalog.ts";
import type { EventStore } from "../domain/event-store.ts";
import type { ReadStore } from "../projections/read-store.ts";
import type { CommandHandler } from "./commands/command-handler.ts";
import type { ProjectorHandle } from "../projections/projector-handle.ts";

/** Everything an app needs, resolved once at the edge (apps/composition/container.ts) and passed down. */
export interface Platform {
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
