import { randomBytes } from "node:crypto";
import { base62, formatApiKey, hashApiKey } from "../../domain/api-key.ts";
import { apiKeyNameStream, keyNameDecider, type Replaced } from "../../domain/api-key-name.ts";
import { fold } from "../../domain/decider.ts";
import type { EventStore } from "../../domain/event-store.ts";
import { conflict, DomainError, notFound } from "../../domain/errors.ts";
import { apiKeyStream, type ApiKeyLimits } from "../../domain/events.ts";
import { formatMoney } from "../../domain/money.ts";
import { apiKeyProjection } from "../../projections/api-keys.ts";
import { canHandle } from "../../projections/projection.ts";
import type { ApiKeyDoc } from "../../projections/api-keys.ts";
import type { CommandContext, CommandResult } from "../commands/command-handler.ts";
import type { Platform } from "../platform.ts";

// Key names are unique among a user's active keys, across instances: a creation first claims the name
// on its reservation stream (domain/api-key-name.ts), then creates the key; a revocation releases it.
// A claim whose key was revoked, or never created, is taken over. A creation that fails after its claim
// releases it; one whose instance died in between leaves a claim that counts until ABANDONED_AFTER_MS.

/** a claim whose key does not exist is an instance that died between claim and key; after this, free */
const ABANDONED_AFTER_MS = 60_000;

type Keys = Pick<Platform, "apiKeys" | "keyNames" | "events">;

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

/** The key with this id, folded from its own stream (the source of truth: no projection lag). */
export async function keyFromStream(events: EventStore, keyId: string): Promise<ApiKeyDoc | null> {
  let doc: ApiKeyDoc | null = null;
  for (const event of await events.readStream(apiKeyStream(keyId)))
    if (canHandle(apiKeyProjection, event)) doc = apiKeyProjection.evolve(doc, event, keyId);
  return doc;
}

/** The API key a raw key's prefix names (keys are created as `key_{prefix}`), from its stream. */
export const keyByPrefix = (events: EventStore, prefix: string) => keyFromStream(events, `key_${prefix}`);

/** the holder of the name, unless its key is revoked or was never created: then what the claim replaces */
async function freeName(p: Keys, input: CreateKeyInput, now: string): Promise<Replaced | null> {
  const name = { userId: input.userId, name: input.name };
  const { holder, claimedAt } = fold(keyNameDecider, "", await p.events.readStream(apiKeyNameStream(name)));
  if (holder === null) return null;
  const key = await keyFromStream(p.events, holder);
  if (key?.status === "revoked") return { keyId: holder, reason: "revoked" };
  if (!key && Date.parse(now) - Date.parse(claimedAt!) >= ABANDONED_AFTER_MS) return { keyId: holder, reason: "abandoned" };
  throw conflict("API_KEY.NAME_TAKEN", `an active key named ${JSON.stringify(input.name)} exists for user ${input.userId}`);
}

export async function createApiKey(p: Keys, ctx: CommandContext, input: CreateKeyInput) {
  const replaces = await freeName(p, input, ctx.now);
  const prefix = base62(randomBytes(16), 12);
  const key = formatApiKey(prefix, base62(randomBytes(32), 40));
  const keyId = `key_${prefix}`;
  const name = { userId: input.userId, name: input.name };
  await p.keyNames.handle(name, { type: "claimKeyName", data: { ...name, keyId, replaces }, now: ctx.now }, ctx);
  const data = {
    keyId,
    userId: input.userId,
    name: input.name,
    prefix,
    secretHash: hashApiKey(key),
    scopes: input.scopes,
    ...(input.limits ? { limits: input.limits } : {}),
  };
  let r: CommandResult;
  try {
    r = await p.apiKeys.handle(keyId, { type: "createApiKey", data, now: ctx.now }, ctx);
  } catch (error) {
    const release = { type: "releaseKeyName" as const, data: { ...name, keyId, reason: "abandoned" as const }, now: ctx.now };
    await p.keyNames.handle(name, release, ctx).catch(() => undefined); // else it is taken over once abandoned
    throw error;
  }
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
}

/** the key's owner, or 404; an API key sees only its own user's keys */
export async function findKey(p: Pick<Platform, "events">, keyId: string, ownerUserId?: string) {
  const doc = await keyFromStream(p.events, keyId);
  if (!doc || (ownerUserId !== undefined && doc.userId !== ownerUserId)) throw notFound("API_KEY.NOT_FOUND", `API key ${keyId} not found`);
  return doc;
}

export async function revokeApiKey(p: Keys, ctx: CommandContext, keyId: string, ownerUserId?: string, reason?: string) {
  const { userId, name } = await findKey(p, keyId, ownerUserId);
  const r = await p.apiKeys.handle(keyId, { type: "revokeApiKey", data: { keyId, ...(reason ? { reason } : {}) }, now: ctx.now }, ctx);
  // the name is free again; if this release is lost, the next creation of the name sees the key revoked
  const release = { type: "releaseKeyName" as const, data: { userId, name, keyId, reason: "revoked" as const }, now: ctx.now };
  await p.keyNames.handle({ userId, name }, release, ctx).catch(() => undefined);
  return { id: keyId, status: "revoked" as const, revokedAt: ctx.now, position: r.position };
}
