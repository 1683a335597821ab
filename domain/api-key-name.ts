import { createHash } from "node:crypto";
import type { Command, Decider, FoldableEvent } from "./decider.ts";
import { conflict } from "./errors.ts";
import type { ApiKeyNameEvent } from "./events.ts";

// Key names are unique among a user's active keys, across every instance: a name is held by a
// reservation stream `apikeyname-{userId}-{sha256(name)}` (one per user and name), and a claim is an
// append at the stream's exact revision, so of two instances racing on one name exactly one appends;
// the other reloads, sees the holder and refuses. The projection is never asked.
// The holder is released when its key is revoked. The use case (application/keys/keys.ts) may replace a
// holder whose key it found revoked, or never created (an instance died between the claim and the
// key): the command names the holder it replaces, so a claim that moved meanwhile refuses.

export interface KeyNameState {
  holder: string | null;
  claimedAt: string | null;
}

export interface Replaced {
  keyId: string;
  reason: "revoked" | "abandoned";
}
export type ClaimKeyName = Command<"claimKeyName", { userId: string; name: string; keyId: string; replaces: Replaced | null }>;
export type ReleaseKeyName = Command<"releaseKeyName", { userId: string; name: string; keyId: string; reason: Replaced["reason"] }>;
export type KeyNameCommand = ClaimKeyName | ReleaseKeyName;

export const apiKeyNameStream = ({ userId, name }: { userId: string; name: string }) =>
  `apikeyname-${userId}-${createHash("sha256").update(name, "utf8").digest("hex")}`;

const taken = (userId: string, name: string) =>
  conflict("API_KEY.NAME_TAKEN", `an active key named ${JSON.stringify(name)} exists for user ${userId}`);

export function decideKeyName(command: KeyNameCommand, state: KeyNameState): ApiKeyNameEvent[] {
  const { userId, name, keyId } = command.data;
  if (command.type === "releaseKeyName") {
    return state.holder === keyId ? [{ type: "api_key_name_released", data: { userId, name, keyId, reason: command.data.reason } }] : [];
  }
  if (state.holder === keyId) return []; // already this key's (a retry)
  const { replaces } = command.data;
  if (state.holder !== (replaces?.keyId ?? null)) throw taken(userId, name);
  const released: ApiKeyNameEvent[] = replaces
    ? [{ type: "api_key_name_released", data: { userId, name, keyId: replaces.keyId, reason: replaces.reason } }]
    : [];
  return [...released, { type: "api_key_name_claimed", data: { userId, name, keyId, claimedAt: command.now } }];
}

export function evolveKeyName(state: KeyNameState, event: FoldableEvent): KeyNameState {
  if (event.type === "api_key_name_claimed") return { holder: event.data.keyId, claimedAt: event.data.claimedAt };
  if (event.type === "api_key_name_released" && state.holder === event.data.keyId) return { holder: null, claimedAt: null };
  return state;
}

export const keyNameDecider: Decider<KeyNameCommand, FoldableEvent, KeyNameState> = {
  decide: decideKeyName,
  evolve: evolveKeyName,
  initialState: () => ({ holder: null, claimedAt: null }),
};
