import { hash, timingSafeEqual } from "node:crypto";
import { streamId, type Command, type Decider, type FoldableEvent } from "./decider.ts";
import { conflict, invalid, notFound } from "./errors.ts";
import type { ApiKeyEvent, ApiKeyLimits } from "./events.ts";

// Stream `apikey-{keyId}`. A raw key is `aia_{prefix}_{secret}{checksum}`: the prefix finds the key in
// the read model, the checksum (6 hex of sha-256 over the rest) rejects typos and garbage BEFORE any
// lookup, and only sha-256(raw key) is ever stored. Randomness comes from the caller.

export interface ApiKeyState {
  exists: boolean;
  keyId: string;
  userId: string;
  status: "active" | "revoked";
  name: string;
  prefix: string;
  scopes: string[];
}

export type CreateApiKey = Command<
  "createApiKey",
  { keyId: string; userId: string; name: string; prefix: string; secretHash: string; scopes: string[]; limits?: ApiKeyLimits }
>;
export type RevokeApiKey = Command<"revokeApiKey", { keyId: string; reason?: string }>;
export type ApiKeyCommand = CreateApiKey | RevokeApiKey;

const PREFIX = /^[A-Za-z0-9]{4,32}$/;
const SECRET = /^[A-Za-z0-9]{16,128}$/;
const RAW_KEY = /^aia_([A-Za-z0-9]{4,32})_([A-Za-z0-9]{22,134})$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

const sha256 = (text: string) => hash("sha256", text);
const checksum = (prefix: string, secret: string) => sha256(`aia_${prefix}_${secret}`).slice(0, 6);

export function formatApiKey(prefix: string, secret: string): string {
  if (!PREFIX.test(prefix)) throw invalid("API_KEY.INVALID_FORMAT", "prefix must be 4..32 base62 characters");
  if (!SECRET.test(secret)) throw invalid("API_KEY.INVALID_FORMAT", "secret must be 16..128 base62 characters");
  return `aia_${prefix}_${secret}${checksum(prefix, secret)}`;
}

/** null for anything that is not a well-formed key with a valid checksum: no store lookup needed. */
export function parseApiKey(raw: string): { prefix: string; secret: string; key: string } | null {
  const match = typeof raw === "string" ? RAW_KEY.exec(raw) : null;
  if (!match) return null;
  const [, prefix = "", body = ""] = match;
  const secret = body.slice(0, -6);
  return body.slice(-6) === checksum(prefix, secret) ? { prefix, secret, key: raw } : null;
}

/** What is stored (`secretHash`): sha-256 hex of the whole raw key. */
export const hashApiKey = (raw: string): string => sha256(raw);

/** Constant-time comparison of a presented raw key with a stored secretHash. */
export function apiKeyMatches(raw: string, secretHash: string): boolean {
  if (!SHA256_HEX.test(secretHash)) return false;
  return timingSafeEqual(Buffer.from(hashApiKey(raw), "hex"), Buffer.from(secretHash, "hex"));
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** Unbiased base62 of caller-supplied random bytes (big-endian), left-padded to `length` characters. */
export function base62(bytes: Uint8Array, length: number): string {
  let n = 0n;
  for (const byte of bytes) n = (n << 8n) | BigInt(byte);
  let out = "";
  for (let i = 0; i < length; i++, n /= 62n) out = BASE62[Number(n % 62n)]! + out;
  return out;
}

export const initialApiKeyState = (keyId: string): ApiKeyState => ({
  exists: false,
  keyId,
  userId: "",
  status: "active",
  name: "",
  prefix: "",
  scopes: [],
});

/** Mutates `state` in place and returns it (see Decider.evolve). */
export function evolveApiKey(state: ApiKeyState, event: ApiKeyEvent): ApiKeyState {
  switch (event.type) {
    case "api_key_created":
      state.exists = true;
      state.status = "active";
      state.userId = event.data.userId;
      state.name = event.data.name;
      state.prefix = event.data.prefix;
      state.scopes = [...event.data.scopes];
      return state;
    case "api_key_revoked":
      state.status = "revoked";
      return state;
    default: {
      const _unknown: never = event;
      return state;
    }
  }
}

export function decideApiKey(command: ApiKeyCommand, state: ApiKeyState): ApiKeyEvent[] {
  if (command.data.keyId !== state.keyId)
    throw invalid("API_KEY.ID_MISMATCH", `command for key ${command.data.keyId} sent to ${state.keyId}`);
  switch (command.type) {
    case "createApiKey": {
      const { data } = command;
      if (state.exists) throw conflict("API_KEY.EXISTS", `API key ${data.keyId} already exists`);
      const { keyId, userId, name, prefix, secretHash, limits } = data;
      const event: ApiKeyEvent = {
        type: "api_key_created",
        data: {
          keyId,
          userId,
          name,
          prefix,
          secretHash,
          scopes: [...new Set(data.scopes)],
          ...(limits ? { limits } : {}),
          createdAt: command.now,
        },
      };
      return [event];
    }
    case "revokeApiKey": {
      if (!state.exists) throw notFound("API_KEY.NOT_FOUND", `API key ${command.data.keyId} not found`);
      if (state.status === "revoked") throw conflict("API_KEY.ALREADY_REVOKED", `API key ${command.data.keyId} is already revoked`);
      const { reason } = command.data;
      const event: ApiKeyEvent = {
        type: "api_key_revoked",
        data: { keyId: command.data.keyId, userId: state.userId, ...(reason !== undefined ? { reason } : {}), revokedAt: command.now },
      };
      return [event];
    }
    default: {
      const unknown: never = command;
      throw invalid("COMMAND.UNKNOWN", `unknown API key command ${(unknown as { type: string }).type}`);
    }
  }
}

/** Shaped for the command handler: initialState takes the stream name `apikey-{keyId}`. */
export const apiKeyDecider: Decider<ApiKeyCommand, FoldableEvent, ApiKeyState> = {
  decide: decideApiKey,
  evolve: (state, event) => (event.type === "api_key_created" || event.type === "api_key_revoked" ? evolveApiKey(state, event) : state),
  initialState: (stream) => initialApiKeyState(streamId(stream, "apikey-")),
};
