import type { FastifyError, FastifyInstance, FastifyReply } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { DomainError, type ErrorKind } from "../../domain/errors.ts";

// One mapper from errors to RFC 9457 problem+json. 5xx never carries internals.

const STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  not_found: 404,
  conflict: 409,
  rule: 422,
  insufficient_funds: 422,
  forbidden: 403,
};

export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
  }
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export function sendProblem(reply: FastifyReply, status: number, code: string, detail: string, extra: Record<string, unknown> = {}) {
  return reply
    .code(status)
    .type("application/problem+json")
    .send({ type: `https://ai-aggregator.dev/problems/${code.toLowerCase().replace(/[._]/g, "-")}`, title: TITLES[status] ?? "Error", status, detail, code, ...extra });
}

export function registerProblemHandlers(app: FastifyInstance) {
  app.setNotFoundHandler((request, reply) => sendProblem(reply, 404, "ROUTE.NOT_FOUND", `no route ${request.method} ${request.url.split("?")[0]}`));
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const errors = error.validation.map((v) => ({ field: `${error.validationContext ?? "body"}${v.instancePath.replace(/\//g, ".")}`, message: v.message }));
      return sendProblem(reply, 400, "REQUEST.INVALID", errors.map((e) => `${e.field}: ${e.message}`).join("; "), { errors });
    }
    if (error instanceof HttpProblem) return sendProblem(reply, error.status, error.code, error.detail, error.extra);
    if (error instanceof DomainError) return sendProblem(reply, STATUS[error.kind], error.code, error.message);
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code = status === 413 ? "REQUEST.TOO_LARGE" : status === 415 ? "REQUEST.UNSUPPORTED_MEDIA_TYPE" : "REQUEST.INVALID";
      return sendProblem(reply, status, code, error.message);
    }
    request.log.error({ err: error }, "unhandled error");
    return sendProblem(reply, 500, "INTERNAL", "internal error; the request id identifies it in the logs", { requestId: request.id });
  });
}
