// THE table of error codes: every problem+json the API and the gateway answer takes its status from
// here, so one code never has two statuses. The README's error table is checked against it
// (apps/api/errors.unit.spec.ts). Domain codes (domain/errors.ts) are listed too: the domain says
// what went wrong, this table says what HTTP makes of it.

export interface ErrorSpec {
  status: number;
  meaning: string;
  /** seconds; sent as Retry-After unless the error carries its own */
  retryAfter?: number;
}

export const ERRORS = {
  // the request itself
  "REQUEST.INVALID": { status: 400, meaning: "a field failed validation; `errors` lists each field and why" },
  "REQUEST.JSON_INVALID": { status: 400, meaning: "the body is not valid JSON" },
  "REQUEST.INVALID_UTF8": { status: 400, meaning: "the body is not valid UTF-8" },
  "REQUEST.TOO_DEEP": { status: 400, meaning: "the JSON body nests deeper than 64 levels" },
  "REQUEST.URL_INVALID": { status: 400, meaning: "the URL has malformed percent-encoding" },
  "REQUEST.MALFORMED": { status: 400, meaning: "the HTTP request could not be parsed" },
  "REQUEST.TOO_LARGE": { status: 413, meaning: "the body exceeds the route's size limit" },
  "REQUEST.URL_TOO_LONG": { status: 414, meaning: "a path segment is longer than the server accepts" },
  "REQUEST.UNSUPPORTED_MEDIA_TYPE": { status: 415, meaning: "the body is not application/json" },
  "REQUEST.HEADERS_TOO_LARGE": { status: 431, meaning: "the request line and headers exceed 16 KiB" },
  "REQUEST.RANGE_INVALID": { status: 422, meaning: "`from` is after `to`" },
  "REQUEST.MAX_TOKENS": { status: 422, meaning: "max_tokens exceeds what the model can produce" },
  "REQUEST.TIMEOUT": { status: 408, meaning: "the request was not received in time" },
  "ROUTE.NOT_FOUND": { status: 404, meaning: "no route for this path" },
  "ROUTE.METHOD_NOT_ALLOWED": { status: 405, meaning: "the path exists, the method does not; Allow lists the methods" },
  "COMMAND.INVALID": { status: 400, meaning: "the command breaks a domain invariant on its input" },
  "COMMAND.UNKNOWN": { status: 400, meaning: "unknown command type" },
  "MONEY.INVALID": { status: 400, meaning: "an amount is not a decimal of at most 6 fraction digits within range" },
  "IDEMPOTENCY.KEY_INVALID": { status: 400, meaning: "Idempotency-Key must be 8 to 255 visible ASCII characters" },
  // who is calling
  "AUTH.MISSING": { status: 401, meaning: "no Authorization header" },
  "AUTH.MALFORMED": { status: 401, meaning: "Authorization is not 'Bearer <token>'" },
  "AUTH.INVALID_TOKEN": { status: 401, meaning: "neither the admin token nor a known API key" },
  "AUTH.KEY_REVOKED": { status: 401, meaning: "the API key was revoked" },
  "AUTH.ADMIN_ONLY": { status: 403, meaning: "the route needs the admin token" },
  "AUTH.API_KEY_REQUIRED": { status: 403, meaning: "the route needs an API key" },
  "AUTH.SCOPE_MISSING": { status: 403, meaning: "the API key lacks the route's scope" },
  "API_KEY.SCOPE_EXCEEDS_CREATOR": { status: 403, meaning: "a key may not mint a key with scopes it lacks" },
  "API_KEY.LIMITS_EXCEED_CREATOR": { status: 403, meaning: "a key may not mint a key with looser limits than its own" },
  // what is addressed
  "RESOURCE.NOT_FOUND": { status: 404, meaning: "the resource does not exist or belongs to another user" },
  "ACCOUNT.NOT_FOUND": { status: 404, meaning: "no account with this user id" },
  "API_KEY.NOT_FOUND": { status: 404, meaning: "no API key with this id" },
  "PAYMENT.NOT_FOUND": { status: 404, meaning: "no payment with this id on the account" },
  "MODEL.NOT_FOUND": { status: 404, meaning: "the model is not in the catalog (at that provider)" },
  // state
  "PAYMENT.DUPLICATE": { status: 409, meaning: "a payment with this id was already processed" },
  "REFUND.DUPLICATE": { status: 409, meaning: "a refund with this id already exists" },
  "TRANSACTION.DUPLICATE": { status: 409, meaning: "a transaction with this id already exists" },
  "USAGE.DUPLICATE": { status: 409, meaning: "a usage with this id was already recorded" },
  "RESERVATION.DUPLICATE": { status: 409, meaning: "a hold with this id already exists" },
  "RESERVATION.NOT_ACTIVE": { status: 409, meaning: "the hold is unknown or already released" },
  "API_KEY.EXISTS": { status: 409, meaning: "an API key with this id already exists" },
  "API_KEY.ALREADY_REVOKED": { status: 409, meaning: "the API key is already revoked" },
  "API_KEY.NAME_TAKEN": { status: 409, meaning: "the user has an active key of this name" },
  "IDEMPOTENCY.IN_FLIGHT": { status: 409, meaning: "a request with this Idempotency-Key is still running", retryAfter: 1 },
  "EVENT_STORE.CONCURRENCY": { status: 409, meaning: "the stream kept changing under the command; retry", retryAfter: 1 },
  "ACCOUNT.USER_MISMATCH": { status: 400, meaning: "the command names another account than its stream" },
  "ANALYTICS.STREAM_MISMATCH": { status: 400, meaning: "the event names another user than its stream" },
  "API_KEY.INVALID_FORMAT": { status: 400, meaning: "the key prefix or secret has the wrong format" },
  "API_KEY.ID_MISMATCH": { status: 400, meaning: "the command names another key than its stream" },
  "RESERVATION.REQUEST_MISMATCH": { status: 400, meaning: "the hold belongs to another request" },
  // business rules
  "ACCOUNT.INSUFFICIENT_FUNDS": { status: 422, meaning: "a debit exceeds the available balance" },
  "PAYMENT.OVER_REFUND": { status: 422, meaning: "the refund exceeds what is left of the payment" },
  "MONEY.OVERFLOW": { status: 422, meaning: "the balance would leave the representable range" },
  "USAGE.UNPRICED": { status: 422, meaning: "the model has no catalog price at that time; send cost" },
  "REQUEST.USER_REQUIRED": { status: 422, meaning: "with the admin token, the request must name its userId" },
  "IDEMPOTENCY.KEY_REUSED": { status: 422, meaning: "the Idempotency-Key was used with another body or route" },
  // the gateway
  "GATEWAY.INSUFFICIENT_FUNDS": { status: 402, meaning: "balance minus holds cannot cover the request's maximum cost" },
  "API_KEY.BUDGET_EXCEEDED": { status: 429, meaning: "the key's budget cannot cover the request's maximum cost" },
  "RATE_LIMIT.REQUESTS": { status: 429, meaning: "the key's requests-per-minute limit is reached" },
  "RATE_LIMIT.TOKENS": { status: 429, meaning: "the key's tokens-per-minute limit is reached" },
  "UPSTREAM.REJECTED": { status: 400, meaning: "the provider rejected the request (its message, redacted)" },
  "UPSTREAM.TOO_LARGE": { status: 413, meaning: "the provider refused the request as too large" },
  "UPSTREAM.UNPROCESSABLE": { status: 422, meaning: "the provider could not process the request" },
  "CLIENT.CLOSED": { status: 499, meaning: "the client closed the connection before the answer" },
  "UPSTREAM.FAILED": { status: 502, meaning: "no provider could serve the request; nothing was charged" },
  "UPSTREAM.INVALID_RESPONSE": { status: 502, meaning: "the provider's 2xx was not a valid chat completion; nothing was charged" },
  "UPSTREAM.BAD_ANSWER": { status: 502, meaning: "the provider's answer was incomplete or invalid; nothing was charged" },
  "PROVIDER.UNAVAILABLE": { status: 503, meaning: "every provider of the model is unconfigured or its circuit is open" },
  // the platform
  "READ_MODEL.POSITION_AHEAD": { status: 422, meaning: "`minPosition` is beyond the event store's head" },
  "READ_MODEL.LAGGING": { status: 503, meaning: "the read models have not reached `minPosition` in time", retryAfter: 1 },
  "STORE.UNAVAILABLE": { status: 503, meaning: "a store is busy, locked or unreachable", retryAfter: 5 },
  "STORE.DISK_FULL": { status: 503, meaning: "a store has no space left", retryAfter: 60 },
  "SYSTEM.NOT_READY": {
    status: 503,
    meaning: "a store does not answer the readiness probe, or the event store cannot write",
    retryAfter: 5,
  },
  INTERNAL: { status: 500, meaning: "a bug; the request id identifies it in the logs" },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(ERRORS, code);

export const statusOf = (code: ErrorCode): number => ERRORS[code].status;

/** the statuses a problem can have: the responses every route may document */
export const PROBLEM_STATUSES = [...new Set(Object.values(ERRORS).map((e) => e.status))].sort();
