import type { ApiKeyLimits } from "../domain/events.ts";
import type { Doc, ReadStore } from "./read-store.ts";
import { stamp, type Projection } from "./projection.ts";

export interface ApiKeyDoc extends Doc {
  id: string;
  userId: string;
  name: string;
  prefix: string;
  secretHash: string;
  scopes: string[];
  limits: ApiKeyLimits;
  status: "active" | "revoked";
  createdAt: string;
  revokedAt?: string;
}

export const apiKeyProjection: Projection<ApiKeyDoc, "api_key_created" | "api_key_revoked"> = {
  name: "api-keys",
  collection: "api_keys",
  handles: ["api_key_created", "api_key_revoked"],
  ids: (event) => [event.data.keyId],
  evolve(doc, event, id) {
    switch (event.type) {
      case "api_key_created": {
        const { userId, name, prefix, secretHash, scopes, limits, createdAt } = event.data;
        return { ...stamp(id, event), id, userId, name, prefix, secretHash, scopes, limits: limits ?? {}, status: "active", createdAt };
      }
      case "api_key_revoked":
        if (!doc) throw new Error(`revocation of unknown key ${id}`);
        return { ...doc, ...stamp(id, event), status: "revoked", revokedAt: event.data.revokedAt };
    }
  },
  indexes: [["userId"]],
};

export const apiKeys = (reads: ReadStore) => reads.collection<ApiKeyDoc>(apiKeyProjection.collection);

export const listApiKeys = (reads: ReadStore, userId?: string) => apiKeys(reads).find(userId ? { userId } : {}, { sort: { createdAt: 1 } });
