import type { AccountCommand } from "../domain/account.ts";
import type { AnalyticsCommand } from "../domain/analytics.ts";
import type { ApiKeyCommand } from "../domain/api-key.ts";
import type { KeyNameCommand } from "../domain/api-key-name.ts";
import type { Catalog } from "../domain/catalog.ts";
import type { EventStore } from "../domain/event-store.ts";
import type { ProjectorHandle } from "../projections/projector-handle.ts";
import type { ReadStore } from "../projections/read-store.ts";
import type { StreamCommands } from "./commands/command-handler.ts";

/**
 * What the use cases share: the stores, the command handlers bound to their streams, the projector, the
 * catalog and the clock. Built by the composition root (apps/composition/container.ts); a use case takes
 * the part it needs (`Pick<Platform, "accounts">`).
 */
export interface Platform {
  events: EventStore;
  reads: ReadStore;
  /** commands of `account-{userId}` streams */
  accounts: StreamCommands<string, AccountCommand>;
  /** commands of `apikey-{keyId}` streams */
  apiKeys: StreamCommands<string, ApiKeyCommand>;
  /** commands of `apikeyname-{userId}-{sha256(name)}` streams: who holds a key name */
  keyNames: StreamCommands<{ userId: string; name: string }, KeyNameCommand>;
  /** commands of `analytics-{userId|anonymous}` streams */
  analytics: StreamCommands<string | undefined, AnalyticsCommand>;
  projector: ProjectorHandle;
  catalog: Catalog;
  /** ISO-8601 UTC; tests may fix it */
  now(): string;
}
