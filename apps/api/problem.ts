import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { DomainError } from "../../domain/errors.ts";
import { GatewayError } from "../../application/gateway/quote.ts";
import { ERRORS, isErrorCode, type ErrorCode } from "./errors.ts";
import { storeFailure } from "./store-failure.ts";

// The one error path: every error that reaches HTTP (domain, gateway, store, body parser, router,
// Node's HTTP parser) becomes RFC 9457 problem+json here, its status taken from ERRORS by code.
// A 5xx never carries internals: its detail is fixed text, the cause goes to the log.

/** An error the edge raises itself: a code from ERRORS, a detail for the client, extra members. */
export class HttpProblem extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = "HttpProblem";
  }
}

export interface Problem {
  code: ErrorCode;
  detail: string;
  extra?: Record<string, unknown>;
  headers?: Record<string, string>;
}

export const problemType = (code: string) => `https://ai-aggregator.dev/problems/${code.toLowerCase().replace(/[._]/g, "-")}`;

/** the problem+json body and headers of a problem */
export function problemResponse({ code, detail, extra = {}, headers = {} }: Problem) {
  const { status, ...spec } = ERRORS[code] as { status: number; retryAfter?: number };
  const allHeaders =
    spec.retryAfter !== undefined && headers["retry-after"] === undefined
      ? { ...headers, "retry-after": String(spec.retryAfter) }
      : headers;
  const body = { type: problemType(code), title: STATUS_CODES[status] ?? "Error", status, detail, code, ...extra };
  return { status, headers: allHeaders, body };
}

/** the code of the problem a reply answered with (the request log line and the refusal metrics read it) */
const answered = new WeakMap<FastifyReply, ErrorCode>();
export const problemCodeOf = (reply: FastifyReply): ErrorCode | undefined => answered.get(reply);

export function sendProblem(reply: FastifyReply, problem: Problem) {
  answered.set(reply, problem.code);
  const { status, headers, body } = problemResponse(problem);
  return reply.code(status).headers(headers).type("application/problem+json").send(body);
}

const internal = (request: FastifyRequest): Problem => ({
  code: "INTERNAL",
  detail: "internal error; the request id identifies it in the logs",
  extra: { requestId: request.id },
});

/** fastify's own 4xx (body parser, content type, size): codes by status, fastify's message is safe to show */
function frameworkProblem(error: FastifyError): Problem | null {
  const status = error.statusCode ?? 500;
  if (status === 413) return { code: "REQUEST.TOO_LARGE", detail: "the body exceeds this route's size limit" };
  if (status === 415) return { code: "REQUEST.UNSUPPORTED_MEDIA_TYPE", detail: "send the body as application/json" };
  if (status >= 500 || status < 400) return null;
  if (error instanceof SyntaxError || /JSON/.test(error.code ?? ""))
    return { code: "REQUEST.JSON_INVALID", detail: `the body is not valid JSON: ${error.message}` };
  return { code: "REQUEST.INVALID", detail: error.message };
}

/** Maps any error to its problem; unknown errors are INTERNAL (and logged by the caller). */
export function problemOf(error: unknown, request: FastifyRequest): { problem: Problem; log: boolean } {
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = error.validationContext ?? "body";
    const errors = error.validation.map((v) => ({ field: `${where}${v.instancePath.replace(/\//g, ".")}`, message: v.message }));
    return {
      problem: { code: "REQUEST.INVALID", detail: errors.map((e) => `${e.field}: ${e.message}`).join("; "), extra: { errors } },
      log: false,
    };
  }
  if (error instanceof HttpProblem) return { problem: { code: error.code, detail: error.detail, extra: error.extra }, log: false };
  if (error instanceof GatewayError || error instanceof DomainError) {
    if (!isErrorCode(error.code)) return { problem: internal(request), log: true };
    const headers = error instanceof GatewayError ? error.headers : {};
    const extra = error instanceof GatewayError ? error.extra : {};
    return { problem: { code: error.code, detail: error.message, headers, extra }, log: false };
  }
  const store = storeFailure(error);
  if (store)
    return {
      problem: {
        code: store,
        detail: store === "STORE.DISK_FULL" ? "the store has no space left; retry later" : "the store is unavailable; retry later",
      },
      log: true,
    };
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "EVENT_STORE.CONCURRENCY")
    return { problem: { code, detail: "the account changed too often while deciding; retry" }, log: false };
  const framework = error instanceof Error && "statusCode" in error ? frameworkProblem(error as FastifyError) : null;
  return framework ? { problem: framework, log: false } : { problem: internal(request), log: true };
}

/** routes by path pattern, to tell "no such path" (404) from "no such method here" (405 + Allow) */
function methodIndex(app: FastifyInstance) {
  const routes: { pattern: RegExp; method: string }[] = [];
  app.addHook("onRoute", (route) => {
    const pattern = new RegExp(`^${route.url.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:[A-Za-z0-9_]+/g, "[^/]+")}$`);
    for (const method of [route.method].flat()) routes.push({ pattern, method });
  });
  return (path: string) => [...new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method))].sort();
}

/** Node's HTTP parser errors (headers too large, malformed requests): a raw problem+json, then close. */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket) {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const code: ErrorCode =
    error.code === "HPE_HEADER_OVERFLOW"
      ? "REQUEST.HEADERS_TOO_LARGE"
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? "REQUEST.TIMEOUT"
        : "REQUEST.MALFORMED";
  const { status, body } = problemResponse({ code, detail: ERRORS[code].meaning });
  const json = JSON.stringify(body);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
    );
  }
  socket.destroy();
}

/** fastify's router errors before a route is found: bad percent-encoding, an over-long path segment */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const problem: Problem =
    error.code === "FST_ERR_BAD_URL"
      ? { code: "REQUEST.URL_INVALID", detail: "the URL has malformed percent-encoding" }
      : error.code === "FST_ERR_MAX_PARAM_LENGTH"
        ? { code: "REQUEST.URL_TOO_LONG", detail: "a path segment is longer than the server accepts" }
        : { code: "INTERNAL", detail: "internal error" };
  void sendProblem(reply, problem);
}

export function registerProblemHandlers(app: FastifyInstance) {
  const methodsOf = methodIndex(app);
  /** no route: 405 with Allow when the path exists under other methods, else 404 */
  const routeMiss = (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split("?")[0]!;
    const allowed = methodsOf(path);
    if (allowed.length === 0)
      return sendProblem(reply, { code: "ROUTE.NOT_FOUND", detail: `no route ${request.method} ${path.slice(0, 200)}` });
    reply.header("allow", allowed.join(", "));
    return sendProblem(reply, {
      code: "ROUTE.METHOD_NOT_ALLOWED",
      detail: `${request.method} is not allowed here; allowed: ${allowed.join(", ")}`,
    });
  };
  app.setNotFoundHandler(routeMiss);
  app.setErrorHandler((error: FastifyError, request, reply) => {
    // an unknown route whose body failed to parse (e.g. QUERY without a content type) is still a miss
    if (request.is404) return routeMiss(request, reply);
    const { problem, log } = problemOf(error, request);
    if (log) request.log.error({ err: error }, `${problem.code}: ${request.method} ${request.routeOptions.url ?? ""}`);
    return sendProblem(reply, problem);
  });
}
