import { createHash } from "node:crypto";

/**
 * The project's UUID namespace (itself uuidV5 of the project URL in the RFC 4122 URL namespace).
 * Pitfall: changing it changes every derived event id, and with it idempotent-retry detection.
 */
export const PROJECT_NAMESPACE = "0af1c1cd-c100-5f02-8f18-0a0bcf69c0a1";

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}

/** RFC 4122 version-5 (SHA-1, name-based) UUID: the same name and namespace always give the same id. */
export function uuidV5(name: string, namespace: string = PROJECT_NAMESPACE): string {
  if (!isUuid(namespace)) throw new TypeError(`uuidV5: namespace is not a UUID: ${namespace}`);
  const bytes = createHash("sha1")
    .update(Buffer.from(namespace.replaceAll("-", ""), "hex"))
    .update(name, "utf8")
    .digest()
    .subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50; // version 5
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Deterministic id of the `index`-th event a command appends to `stream` under one idempotency scope
 * (e.g. `${actor}:${idempotencyKey}`). A retried command derives the same ids, so the store can
 * recognise the append as a duplicate. The name is JSON-encoded so no two triples collide.
 */
export function eventIdFor(idempotencyScope: string, stream: string, index: number): string {
  if (!Number.isSafeInteger(index) || index < 0) throw new TypeError(`eventIdFor: bad index ${index}`);
  return uuidV5(JSON.stringify([idempotencyScope, stream, index]));
}
