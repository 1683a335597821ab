import type { Catalog } from "../domain/catalog.ts";
import type { EventStore } from "../domain/event-store.ts";
import type { ReadStore } from "../projections/read-store.ts";
import type { AccountCommand } from "../domain/account.ts";
import type { AnalyticsCommand } from "../domain/analytics.ts";
import type { ApiKeyCommand } from "../domain/api-key.ts";
import type { StreamCommands } from "./commands/command-handler.ts";
import type { ProjectorHandle } from "../projections/projector-handle.ts";

/** Everything an app needs, resolved once at the edge (apps/composition/container.ts) and passed down. */
export interface Platform {
  events: EventStore;
  reads: ReadStore;
  /** commands of `account-{userId}` streams */
  accounts: StreamCommands<string, AccountCommand>;
  /** commands of `apikey-{keyId}` streams */
  apiKeys: StreamCommands<string, ApiKeyCommand>;
  /** commands of `analytics-{userId|anonymous}` streams */
  analytics: StreamCommands<string | undefined, AnalyticsCommand>;
  projector: ProjectorHandle;
  adminToken: string;
  /** where a generated admin token was written (unset when ADMIN_TOKEN is given) */
  adminTokenFile?: string;
  catalog: Catalog;
  /** ISO-8601 UTC; tests may fix it */
  now(): string;
}
