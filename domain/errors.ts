// Domain errors carry stable namespaced codes that survive logs, Kafka and CLI exits.
// The API maps `kind` to an HTTP status in one place (apps/api/errors.ts).

export type ErrorKind = "invalid" | "not_found" | "conflict" | "rule" | "insufficient_funds" | "forbidden";

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "DomainError";
  }
}

export const invalid = (code: string, message: string) => new DomainError("invalid", code, message);
export const notFound = (code: string, message: string) => new DomainError("not_found", code, message);
export const conflict = (code: string, message: string) => new DomainError("conflict", code, message);
export const ruleViolated = (code: string, message: string) => new DomainError("rule", code, message);
export const insufficientFunds = (message: string) => new DomainError("insufficient_funds", "ACCOUNT.INSUFFICIENT_FUNDS", message);
