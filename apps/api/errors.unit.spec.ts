import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import type { FastifyRequest } from "fastify";
import { describe, expect, it } from "vitest";
import { conflict, insufficientFunds, invalid, notFound, ruleViolated } from "../../domain/errors.ts";
import { ConcurrencyError } from "../../domain/event-store.ts";
import { GatewayError } from "../../application/gateway/quote.ts";
import { ERRORS } from "./errors.ts";
import { HttpProblem, problemOf, problemResponse } from "./problem.ts";
import { storeFailure } from "./store-failure.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const request = { id: "req-1" } as FastifyRequest;
const mapped = (error: unknown) => {
  const { problem, log } = problemOf(error, request);
  return { ...problemResponse(problem), log };
};

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts") && !e.name.includes(".spec.") && !e.parentPath.includes("node_modules"))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** every error code the code raises toward a client: domain errors, edge problems, gateway refusals */
const RAISED = [
  /\b(?:invalid|notFound|conflict|ruleViolated)\(\s*"([A-Z0-9_]+\.[A-Z0-9_]+)"/g,
  /new DomainError\(\s*"\w+",\s*"([A-Z0-9_]+\.[A-Z0-9_]+)"/g,
  /new (?:HttpProblem|GatewayError)\(\s*"([A-Z0-9_]+\.[A-Z0-9_]+|INTERNAL)"/g,
  /\[\d{3}, "([A-Z0-9_]+\.[A-Z0-9_]+)"\]/g, // upstream status → code
  /\bcode: "([A-Z0-9_]+\.[A-Z0-9_]+)"/g, // rate-limit admissions
];
/** codes that never become an HTTP status: the SSE error event of a stream broken after its 200 */
const IN_STREAM = ["UPSTREAM.STREAM_INTERRUPTED"];

describe("the error table", () => {
  it("is the README's error table", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const rows = [...readme.matchAll(/^\| `([A-Z0-9_.]+)` \| (\d{3}) \| (?:(\d+) s)? \| (.+) \|$/gm)];
    const documented = Object.fromEntries(
      rows.map(([, code, status, retry, meaning]) => [
        code,
        { status: Number(status), meaning, ...(retry ? { retryAfter: Number(retry) } : {}) },
      ]),
    );
    expect(documented).toEqual(ERRORS);
  });

  it("names every code the code raises", () => {
    const files = ["domain", "apps/api", "application"].flatMap(sources);
    const raised = new Set(
      files.flatMap((file) => RAISED.flatMap((re) => [...readFileSync(join(ROOT, file), "utf8").matchAll(re)].map((m) => m[1]!))),
    );
    expect(raised.size).toBeGreaterThan(40); // the scan sees the code base
    expect([...raised].filter((code) => !(code in ERRORS) && !IN_STREAM.includes(code))).toEqual([]);
  });

  it("gives insufficient funds one status per code: 422 for a debit, 402 at the gateway", () => {
    expect(mapped(insufficientFunds("debit of 5 USD exceeds the available balance")).status).toBe(422);
    expect(mapped(new GatewayError("GATEWAY.INSUFFICIENT_FUNDS", "hold exceeds the available balance")).status).toBe(402);
  });
});

describe("one error path", () => {
  it("maps domain errors by their code", () => {
    expect(mapped(invalid("MONEY.INVALID", "bad amount"))).toMatchObject({
      status: 400,
      body: { code: "MONEY.INVALID", detail: "bad amount", type: "https://ai-aggregator.dev/problems/money-invalid", title: "Bad Request" },
    });
    expect(mapped(notFound("PAYMENT.NOT_FOUND", "no such payment")).status).toBe(404);
    expect(mapped(conflict("PAYMENT.DUPLICATE", "again")).status).toBe(409);
    expect(mapped(ruleViolated("PAYMENT.OVER_REFUND", "too much")).status).toBe(422);
  });

  it("maps gateway refusals with their headers and extra members", () => {
    const limited = mapped(new GatewayError("RATE_LIMIT.REQUESTS", "slow down", { "retry-after": "7" }));
    expect(limited).toMatchObject({ status: 429, headers: { "retry-after": "7" }, body: { code: "RATE_LIMIT.REQUESTS" } });
    const failed = mapped(
      new GatewayError("UPSTREAM.FAILED", "no provider", {}, { attempts: [{ provider: "openai", outcome: "http_500" }] }),
    );
    expect(failed).toMatchObject({ status: 502, body: { attempts: [{ provider: "openai" }] } });
  });

  it("sends the table's Retry-After when the error brings none", () => {
    expect(mapped(new HttpProblem("READ_MODEL.LAGGING", "later")).headers).toEqual({ "retry-after": "1" });
    expect(mapped(new ConcurrencyError("account-a", 3, 4))).toMatchObject({
      status: 409,
      headers: { "retry-after": "1" },
      body: { code: "EVENT_STORE.CONCURRENCY" },
    });
  });

  it("turns store failures into a 503 that names no driver message", () => {
    const secret = "SQLITE_FULL: database or disk is full at /srv/data/events.db (token sk-live-123)";
    const cases: [unknown, string][] = [
      [Object.assign(new Error(secret), { code: "SQLITE_FULL" }), "STORE.DISK_FULL"],
      [Object.assign(new Error(secret), { code: "ENOSPC" }), "STORE.DISK_FULL"],
      [new Error("wrapped", { cause: Object.assign(new Error(secret), { code: "ENOSPC" }) }), "STORE.DISK_FULL"],
      [Object.assign(new Error(secret), { code: "SQLITE_BUSY" }), "STORE.UNAVAILABLE"],
      [Object.assign(new Error(secret), { code: "SQLITE_LOCKED_SHAREDCACHE" }), "STORE.UNAVAILABLE"],
      [Object.assign(new Error(secret), { code: "SQLITE_IOERR_WRITE" }), "STORE.UNAVAILABLE"],
      [Object.assign(new Error(secret), { code: "ECONNREFUSED" }), "STORE.UNAVAILABLE"],
      [Object.assign(new Error(secret), { name: "MongoServerSelectionError" }), "STORE.UNAVAILABLE"],
      [Object.assign(new Error(secret), { code: 14031, codeName: "OutOfDiskSpace" }), "STORE.DISK_FULL"],
      [Object.assign(new Error(secret), { code: "57P01" }), "STORE.UNAVAILABLE"],
      [Object.assign(new Error(secret), { code: "53100" }), "STORE.DISK_FULL"],
    ];
    for (const [error, code] of cases) {
      const answer = mapped(error);
      expect(answer, code).toMatchObject({ status: 503, body: { code }, log: true });
      expect(Number(answer.headers["retry-after"])).toBeGreaterThan(0);
      expect(JSON.stringify(answer.body)).not.toMatch(/SQLITE|sk-live|events\.db/);
    }
    expect(storeFailure(new Error("plain"))).toBeNull();
    expect(storeFailure(Object.assign(new Error("x"), { code: "EVENT_STORE.CONCURRENCY" }))).toBeNull();
  });

  it("answers anything else as INTERNAL without its message, with the request id", () => {
    const answer = mapped(new TypeError("Cannot read properties of undefined (reading 'secretHash')"));
    expect(answer).toMatchObject({ status: 500, log: true, body: { code: "INTERNAL", requestId: "req-1" } });
    expect(JSON.stringify(answer.body)).not.toContain("secretHash");
    expect(mapped(invalid("NOT.IN_THE_TABLE", "whatever")).status).toBe(500); // an unlisted code is a bug, not a guess
  });
});
