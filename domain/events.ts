// Event catalog v1. Money is integer micro-USD everywhere.

export type ActorType = "admin" | "apiKey" | "system";
export interface Actor {
  type: ActorType;
  id: string;
}

export interface EventMetadata {
  eventId: string;
  occurredAt: string; // ISO-8601 UTC
  actor: Actor;
  correlationId: string;
  causationId: string;
  idempotencyKey?: string;
  /** W3C trace context of the command that decided the event (when tracing is on and kept its trace): its trace id leads to the request */
  traceparent?: string;
  schemaVersion: 1;
  /** account streams only: sha-256 chain over canonical JSON (domain/hash-chain.ts) */
  prevHash?: string;
  hash?: string;
}

export interface Prices {
  /** micro-USD per million prompt tokens */
  promptPerMillion: number;
  /** micro-USD per million completion tokens */
  completionPerMillion: number;
  /** catalog version the prices came from */
  catalogVersion?: string;
}

export type TransactionType = "payment" | "refund" | "usage" | "credit" | "debit" | "adjustment";

export interface PaymentProcessed {
  type: "payment_processed";
  data: { userId: string; paymentId: string; amount: number; currency: "USD"; method: string; externalRef?: string };
}
export interface PaymentRefunded {
  type: "payment_refunded";
  data: { userId: string; paymentId: string; refundId: string; amount: number; reason?: string };
}
export interface TransactionCreated {
  type: "transaction_created";
  data: {
    userId: string;
    transactionId: string;
    /** signed: credits positive, debits negative */
    amount: number;
    type: TransactionType;
    balanceAfter: number;
    timestamp: string;
    metadata: Record<string, string>;
  };
}
export interface AiUsage {
  type: "ai_usage";
  data: {
    userId: string;
    usageId: string;
    requestId: string;
    service: string;
    resource: string;
    provider: string;
    model: string;
    promptTokens: number;
    completionTokens: number;
    tokens: number;
    cost: number;
    prices: Prices;
    apiKeyId?: string;
    reservationId?: string;
    timestamp: string;
    /** "counted": the provider reported no usage, the gateway counted delivered tokens (README policy) */
    usageSource?: "provider" | "counted";
  };
}
export interface UsageReserved {
  type: "usage_reserved";
  data: { userId: string; reservationId: string; requestId: string; amount: number; expiresAt: string; apiKeyId?: string };
}
export interface UsageReleased {
  type: "usage_released";
  data: {
    userId: string;
    reservationId: string;
    requestId: string;
    amount: number;
    reason: "settled" | "failed" | "expired" | "cancelled";
  };
}
export interface ApiKeyLimits {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  /** micro-USD the key may spend in total */
  budget?: number;
}
export interface ApiKeyCreated {
  type: "api_key_created";
  data: {
    keyId: string;
    userId: string;
    name: string;
    prefix: string;
    secretHash: string;
    scopes: string[];
    limits?: ApiKeyLimits;
    createdAt: string;
  };
}
export interface ApiKeyRevoked {
  type: "api_key_revoked";
  data: { keyId: string; userId: string; reason?: string; revokedAt: string };
}
/** a key name held by one of the user's active keys (stream `apikeyname-…`, domain/api-key-name.ts) */
export interface ApiKeyNameClaimed {
  type: "api_key_name_claimed";
  data: { userId: string; name: string; keyId: string; claimedAt: string };
}
export interface ApiKeyNameReleased {
  type: "api_key_name_released";
  /** revoked: the key was revoked; abandoned: its creation never completed */
  data: { userId: string; name: string; keyId: string; reason: "revoked" | "abandoned" };
}
export interface AnalyticsEventTracked {
  type: "analytics_event_tracked";
  data: { name: string; userId?: string; properties: Record<string, unknown>; timestamp: string };
}

export type AccountEvent = PaymentProcessed | PaymentRefunded | TransactionCreated | AiUsage | UsageReserved | UsageReleased;
export type ApiKeyEvent = ApiKeyCreated | ApiKeyRevoked;
export type ApiKeyNameEvent = ApiKeyNameClaimed | ApiKeyNameReleased;
export type AnalyticsEvent = AnalyticsEventTracked;
export type DomainEvent = AccountEvent | ApiKeyEvent | ApiKeyNameEvent | AnalyticsEvent;
export type EventType = DomainEvent["type"];

/** An event as decided, before the store has seen it. */
export type NewEvent<E extends DomainEvent = DomainEvent> = E & { metadata: EventMetadata };

/** An event as read back from the store. */
export type RecordedEvent<E extends DomainEvent = DomainEvent> = E & {
  metadata: EventMetadata;
  streamName: string;
  /** 0-based revision in its stream */
  revision: number;
  /** global position in $all, strictly increasing */
  position: number;
};

export const accountStream = (userId: string) => `account-${userId}`;
export const apiKeyStream = (keyId: string) => `apikey-${keyId}`;
export const analyticsStream = (userId?: string) => `analytics-${userId ?? "anonymous"}`;

export const ACCOUNT_EVENT_TYPES: readonly AccountEvent["type"][] = [
  "payment_processed",
  "payment_refunded",
  "transaction_created",
  "ai_usage",
  "usage_reserved",
  "usage_released",
];
export const EVENT_TYPES: readonly EventType[] = [
  ...ACCOUNT_EVENT_TYPES,
  "api_key_created",
  "api_key_revoked",
  "api_key_name_claimed",
  "api_key_name_released",
  "analytics_event_tracked",
];

/**
 * The id each of these events records once per account: an account never reuses it. The folded state
 * keeps only recent ones; stores that can look the others up (`EventStore.usedIds`) index this field.
 */
export const ONCE_PER_ACCOUNT = {
  transaction_created: "transactionId",
  ai_usage: "usageId",
  usage_reserved: "reservationId",
  payment_refunded: "refundId",
} as const satisfies Partial<Record<AccountEvent["type"], string>>;
export type OncePerAccount = keyof typeof ONCE_PER_ACCOUNT;
/** `type:id`, e.g. `ai_usage:u-123`: how the command handler and the stores name a used id */
export const usedIdKey = (type: OncePerAccount, id: string) => `${type}:${id}`;
/** the used-id key an event records, if any */
export function usedIdOf(event: { type: string; data: object }): string | undefined {
  const field = (ONCE_PER_ACCOUNT as Record<string, string>)[event.type];
  const id = field === undefined ? undefined : (event.data as Record<string, unknown>)[field];
  return typeof id === "string" ? usedIdKey(event.type as OncePerAccount, id) : undefined;
}

export const RELAYED_EVENT_TYPES: readonly EventType[] = ["ai_usage", "transaction_created"];
