import { validate } from "@readme/openapi-parser";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testApp, type TestApp } from "../../test/harness/platform.ts";

// The published contract: a valid OpenAPI 3.1 document (checked by @readme/openapi-parser against the
// official 3.1 schema plus its own rules: unique operationIds, parameters, references), and the
// promises this API makes in it. The OpenAPI 3.1 schema does not look inside Schema Objects, so each
// one is also compiled as JSON Schema 2020-12 by ajv in strict mode (types, keywords, ECMA regexes).
// Schemathesis fuzzes the server against the document (schemathesis.e2e.spec.ts).

type Operation = {
  operationId?: string;
  summary?: string;
  security?: unknown[];
  parameters?: { name: string; in: string; schema?: Record<string, unknown> }[];
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }>; headers?: Record<string, unknown> }>;
};
type Doc = { openapi: string; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };

const PUBLIC = ["GET /health", "GET /ready", "GET /metrics", "GET /orchestrator/models"];

describe("OpenAPI document", () => {
  let t: TestApp;
  let doc: Doc;
  let operations: [string, Operation][];
  beforeAll(async () => {
    t = await testApp();
    doc = (await t.app.inject({ url: "/openapi.json" })).json();
    operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => [`${method.toUpperCase()} ${path}`, op] as [string, Operation]),
    );
  });
  afterAll(() => t.close());

  it("is OpenAPI 3.1 and validates", async () => {
    expect(doc.openapi).toBe("3.1.0");
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid ? [] : result.errors).toEqual([]);
  });

  it("holds only valid JSON Schema 2020-12 (ajv, strict)", () => {
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
    addFormats.default(ajv);
    ajv.addKeyword("example");
    ajv.addSchema(doc.components.schemas.Problem as object, "#/components/schemas/Problem");
    const schemas: [string, object][] = [];
    for (const [name, op] of operations) {
      for (const p of op.parameters ?? []) schemas.push([`${name} ${p.in} ${p.name}`, p.schema ?? {}]);
      for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) schemas.push([`${name} body ${type}`, media.schema]);
      for (const [status, response] of Object.entries(op.responses)) {
        for (const [type, media] of Object.entries(response.content ?? {})) schemas.push([`${name} ${status} ${type}`, media.schema]);
      }
    }
    expect(schemas.length).toBeGreaterThan(200);
    for (const [where, schema] of schemas) expect(() => ajv.compile(schema), where).not.toThrow();
    expect(() => ajv.compile({ type: "strnig" })).toThrow(); // the check can fail
  });

  it("names and summarises every operation", () => {
    expect(operations.length).toBe(34);
    for (const [name, op] of operations) {
      expect(op.operationId, name).toMatch(/^[a-z][A-Za-z0-9]+$/);
      expect(op.summary, name).toBeTruthy();
    }
  });

  it("marks public routes public and every other route bearer", () => {
    for (const [name, op] of operations) {
      expect(op.security, name).toEqual(PUBLIC.includes(name) ? [] : [{ bearer: [] }]);
      if (!PUBLIC.includes(name)) expect(Object.keys(op.responses), name).toContain("401");
    }
  });

  it("answers every error as the one shared Problem, in application/problem+json", () => {
    expect(Object.keys(doc.components.schemas)).toEqual(["Problem"]);
    for (const [name, op] of operations) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue;
        expect(response.content, `${name} ${status}`).toEqual({
          "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } },
        });
      }
    }
  });

  it("documents the statuses routes really answer: 201 creations, 202 track-event, streams by content type", () => {
    const statuses = (name: string) => Object.keys(operations.find(([n]) => n === name)![1].responses);
    for (const name of [
      "POST /billing/payment/process",
      "POST /billing/payment/refund",
      "POST /billing/transaction",
      "POST /billing/usage/track",
      "POST /auth/api-keys",
    ]) {
      expect(statuses(name), name).toContain("201");
    }
    expect(statuses("POST /analytics/track-event")).toContain("202");
    const content = (name: string) => Object.keys(operations.find(([n]) => n === name)![1].responses["200"]!.content ?? {});
    expect(content("POST /v1/chat/completions")).toEqual(["application/json", "text/event-stream"]);
    expect(content("POST /proxy/openai/chat/completions")).toEqual(["application/json", "text/event-stream"]);
    expect(content("GET /events")).toEqual(["application/x-ndjson"]);
    expect(content("GET /metrics")).toEqual(["text/plain"]);
    for (const name of ["POST /v1/chat/completions", "POST /proxy/openrouter/chat/completions"]) {
      expect(statuses(name), name).toEqual(expect.arrayContaining(["402", "429", "502", "503"]));
    }
  });

  it("documents Idempotency-Key on every POST, its replay header, and minPosition", () => {
    for (const [name, op] of operations.filter(([n]) => n.startsWith("POST "))) {
      expect(
        op.parameters?.map((p) => `${p.in}:${p.name}`),
        name,
      ).toContain("header:idempotency-key");
      const success = Object.entries(op.responses).find(([status]) => status.startsWith("2"))![1];
      expect(success.headers, name).toHaveProperty("idempotent-replayed");
    }
    const balance = doc.paths["/billing/balance/{userId}"]!.get!;
    expect(balance.parameters?.find((p) => p.name === "minPosition")?.schema).toMatchObject({ type: "integer", minimum: 0 });
  });

  it("documents money in as oneOf a bounded decimal string or a number, and money out as a decimal string", () => {
    const body = doc.paths["/billing/payment/process"]!.post!.requestBody!.content["application/json"]!.schema as {
      properties: Record<string, { oneOf: { type: string; pattern?: string }[] }>;
    };
    const amount = body.properties.amount!;
    expect(amount.oneOf.map((s) => s.type)).toEqual(["string", "number"]);
    const pattern = new RegExp(amount.oneOf[0]!.pattern!);
    for (const ok of ["12.5", "0.000001", "9007199254.740991"]) expect(pattern.test(ok), ok).toBe(true);
    for (const bad of ["12.5000001", "9007199254.740992", "1e3", "-1", ""]) expect(pattern.test(bad), bad).toBe(false);
    const out = doc.paths["/billing/payment/process"]!.post!.responses["201"]!.content!["application/json"]!.schema as {
      properties: Record<string, unknown>;
    };
    expect(out.properties.balance).toMatchObject({ type: "string", pattern: "^-?[0-9]+(?:\\.[0-9]{1,6})?$" });
  });

  it("serves Swagger UI at /docs over this document (built on the first request), with the API's request id", async () => {
    const page = await t.app.inject({ url: "/docs/" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toContain("text/html");
    expect(page.body).toContain("swagger-ui");
    expect(page.headers["x-request-id"]).toBeTruthy();
    expect((await t.app.inject({ url: "/docs/json" })).json()).toEqual(doc);
    const yaml = await t.app.inject({ url: "/docs/yaml" });
    expect(yaml.headers["content-type"]).toContain("yaml");
    expect(yaml.body).toContain("openapi: 3.1.0");
    const script = await t.app.inject({ url: "/docs/static/swagger-initializer.js" });
    expect([script.statusCode, script.headers["content-type"]]).toEqual([200, expect.stringContaining("javascript")]);
    expect((await t.app.inject({ method: "HEAD", url: "/docs/static/swagger-ui.css" })).statusCode).toBe(200);
    const missing = await t.app.inject({ url: "/docs/static/no-such-file.js" });
    expect([missing.statusCode, missing.headers["content-type"]]).toEqual([404, expect.stringContaining("application/problem+json")]);
  });
});
