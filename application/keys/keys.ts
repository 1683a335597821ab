import { randomBytes } from "node:crypto";
import { base62, formatApiKey, hashApiKey } from "../../domain/api-key.ts";
import { conflict, DomainError, notFound } from "../../domain/errors.ts";
import type { ApiKeyLimits } from "../../domain/events.ts";
import { formatMoney } from "../../domain/money.ts";
import { apiKeys, listApiKeys } from "../../projections/api-keys.ts";
import type { ApiKeyDoc } from "../../projections/api-keys.ts";
import type { CommandContext } from "../commands/command-handler.ts";
import type { Platform } from "../platform.ts";

// Key names are unique among a user's active keys. The check reads the keys projection once it has
// caught up, under a per-user queue in this process; two API instances racing on one name could both
// pass (documented in the README), the key streams themselves stay consistent.
const nameLocks = new Map<string, Promise<unknown>>();
function underUserLock<T>(userId: string, work: () => Promise<T>): Promise<T> {
  const run = (nameLocks.get(userId) ?? Promise.resolve()).then(work, work);
  const settled = run.catch(() => undefined);
  nameLocks.set(userId, settled);
  void settled.then(() => nameLocks.get(userId) === settled && nameLocks.delete(userId));
  return run;
}

type Keys = Pick<Platform, "apiKeys" | "reads" | "projector">;

export const DEFAULT_SCOPES = ["chat", "billing:read"];

/**
 * A key never grants what its creator lacks: the new key's scopes are a subset of the creating key's
 * (omitted: the default scopes it has), and for every limit the creator has, the new key has one at
 * most as high (omitted: inherited). Limits are per key: each minted key spends its own budget.
 */
export function narrowToCreator(
  creator: { scopes: string[]; limits: ApiKeyLimits },
  scopes: string[] | undefined,
  limits: ApiKeyLimits = {},
) {
  const granted = scopes ?? DEFAULT_SCOPES.filter((s) => creator.scopes.includes(s));
  const exceeding = granted.filter((s) => !creator.scopes.includes(s));
  if (granted.length === 0 || exceeding.length > 0) {
    const what = scopes ? `scopes ${exceeding.join(", ")}` : `the default scopes (${DEFAULT_SCOPES.join(", ")})`;
    throw new DomainError(
      "forbidden",
      "API_KEY.SCOPE_EXCEEDS_CREATOR",
      `${what} exceed the creating key's scopes (${creator.scopes.join(", ")})`,
    );
  }
  const narrowed: ApiKeyLimits = { ...limits };
  for (const field of ["requestsPerMinute", "tokensPerMinute", "budget"] as const) {
    const cap = creator.limits[field];
    const asked = narrowed[field];
    if (cap === undefined) continue;
    if (asked === undefined) narrowed[field] = cap;
    else if (asked > cap) {
      const show = field === "budget" ? formatMoney : String;
      throw new DomainError(
        "forbidden",
        "API_KEY.LIMITS_EXCEED_CREATOR",
        `limits.${field} ${show(asked)} exceeds the creating key's ${show(cap)}`,
      );
    }
  }
  return { scopes: granted, ...(Object.keys(narrowed).length > 0 ? { limits: narrowed } : {}) };
}

export interface CreateKeyInput {
  userId: string;
  name: string;
  scopes: string[];
  limits?: ApiKeyLimits;
}

export const toKeyView = (doc: ApiKeyDoc) => ({
  id: doc.id,
  prefix: doc.prefix,
  name: doc.name,
  userId: doc.userId,
  scopes: doc.scopes,
  limits: doc.limits,
  status: doc.status,
  createdAt: doc.createdAt,
  ...(doc.revokedAt ? { revokedAt: doc.revokedAt } : {}),
});

export function createApiKey(p: Keys, ctx: CommandContext, input: CreateKeyInput) {
  return underUserLock(input.userId, async () => {
    await p.projector.catchUp(2000);
    const existing = await listApiKeys(p.reads, input.userId);
    if (existing.some((k) => k.status === "active" && k.name === input.name)) {
      throw conflict("API_KEY.NAME_TAKEN", `an active key named ${JSON.stringify(input.name)} exists for user ${input.userId}`);
    }
    const prefix = base62(randomBytes(16), 12);
    const key = formatApiKey(prefix, base62(randomBytes(32), 40));
    const keyId = `key_${prefix}`;
    const data = {
      keyId,
      userId: input.userId,
      name: input.name,
      prefix,
      secretHash: hashApiKey(key),
      scopes: input.scopes,
      ...(input.limits ? { limits: input.limits } : {}),
    };
    const r = await p.apiKeys.handle(keyId, { type: "createApiKey", data, now: ctx.now }, ctx);
    return {
      id: keyId,
      key,
      prefix,
      name: input.name,
      userId: input.userId,
      scopes: input.scopes,
      limits: input.limits ?? {},
      createdAt: ctx.now,
      position: r.position,
    };
  });
}

/** the key's owner, or 404; an API key sees only its own user's keys */
export async function findKey(p: Pick<Platform, "reads" | "projector">, keyId: string, ownerUserId?: string) {
  let doc = await apiKeys(p.reads).get(keyId);
  if (!doc && (await p.projector.catchUp())) doc = await apiKeys(p.reads).get(keyId);
  if (!doc || (ownerUserId !== undefined && doc.userId !== ownerUserId)) throw notFound("API_KEY.NOT_FOUND", `API key ${keyId} not found`);
  return doc;
}

export async function revokeApiKey(p: Keys, ctx: CommandContext, keyId: string, ownerUserId?: string, reason?: string) {
  await findKey(p, keyId, ownerUserId);
  const r = await p.apiKeys.handle(keyId, { type: "revokeApiKey", data: { keyId, ...(reason ? { reason } : {}) }, now: ctx.now }, ctx);
  return { id: keyId, status: "revoked" as const, revokedAt: ctx.now, position: r.position };
}
