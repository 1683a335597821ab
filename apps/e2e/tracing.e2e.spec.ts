import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedEvent } from "../../domain/events.ts";
import { engineUrl, toolAvailable } from "../../test/engines/require-engine.ts";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../../test/fixtures/otlp-receiver.ts";
import { startUpstreamFixture, type UpstreamFixture } from "../../test/fixtures/upstream-fixture.ts";
import { UPSTREAM_KEYS } from "../../test/harness/gateway-harness.ts";
import { startServer } from "../../test/harness/server.ts";

// README "Operations › Traces": a request's W3C `traceparent` is honoured through the whole path. One
// chat completion with a given trace id through `npm start` (relay on, traces to a local OTLP/JSON
// receiver): the server span is the caller's child; the commands, their appends and the upstream call
// are spans of that trace; the upstream fixture receives the same trace id; every event the request
// decided records it (metadata.traceparent) and the relay puts it on the Kafka records; the projector
// and relay batches link to it; and the account's hash chain still verifies. A trace the caller did not
// sample goes to the provider (flag 00) and nowhere else: no span, no traceparent in the events or records.

const brokers = engineUrl("kafka", "KAFKA_BROKERS");
const kcat = brokers ? await toolAvailable("kcat") : false;
const run = promisify(execFile);
const ADMIN = "trace-admin-token-0123456789";
const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "00f067aa0ba902b7";
const USER = `trace-${randomUUID().slice(0, 8)}`;

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`not seen within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!brokers || !kcat)("traces: one trace id from the caller to the provider, the events and the topic", () => {
  const dir = mkdtempSync(join(tmpdir(), "trace-e2e-"));
  const topic = `trace-e2e-${randomUUID()}`;
  let otlp: OtlpReceiver;
  let fixture: UpstreamFixture;
  let server: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    otlp = await startOtlpReceiver();
    fixture = await startUpstreamFixture(() => ({ usage: { prompt_tokens: 7, completion_tokens: 4 } }));
    server = await startServer({
      DATA_DIR: dir,
      ADMIN_TOKEN: ADMIN,
      KAFKA_BROKERS: brokers!,
      KAFKA_TOPIC: topic,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: "100", // the SDK's batch delay (default 5 s)
      OPENAI_BASE_URL: fixture.baseUrl("openai"),
      OPENAI_API_KEY: UPSTREAM_KEYS.openai,
    });
  });
  afterAll(async () => {
    await server?.stop();
    await fixture?.close();
    await otlp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** the headers of the record of the event `eventId` on the topic, once the relay published it */
  const recordOf = (eventId: string) =>
    until(`the record of event ${eventId} on the topic`, async () => {
      const { stdout } = await run("kcat", ["-b", brokers!, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-J"]);
      return stdout
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((line) => {
          const h = (JSON.parse(line) as { headers?: string[] }).headers ?? [];
          return Object.fromEntries(h.flatMap((v, i) => (i % 2 === 0 ? [[v, h[i + 1]!]] : []))) as Record<string, string>;
        })
        .find((headers) => headers.ce_id === eventId);
    });

  const admin = (path: string, body?: object) =>
    fetch(`${server.url}${path}`, {
      method: body ? "POST" : "GET",
      headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });

  it("the caller's trace id reaches the spans, the provider, the events and the Kafka records", { timeout: 120_000 }, async () => {
    expect((await admin("/billing/payment/process", { userId: USER, amount: "5" })).status).toBe(201);
    const { key } = (await (await admin("/auth/api-keys", { userId: USER, name: "trace" })).json()) as { key: string };
    const answer = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json", traceparent: `00-${TRACE}-${PARENT}-01` },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "trace me" }] }),
    });
    expect(answer.status).toBe(200);

    // the provider got the trace, as the child of our upstream span
    const sent = String(fixture.received.at(-1)!.headers.traceparent);
    expect(sent).toMatch(new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));

    const inTrace = () => otlp.spans.filter((s) => s.traceId === TRACE);
    const named = (name: string) => inTrace().find((s) => s.name === name);
    const spans = await until("the request's spans", () =>
      named("POST /v1/chat/completions") && named("command settleUsage") && named("chat gpt-4o-mini") ? inTrace() : undefined,
    );
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const request = named("POST /v1/chat/completions")!;
    expect(request).toMatchObject({ parentSpanId: PARENT, kind: 2, service: "ai-aggregator" });
    const upstream = named("chat gpt-4o-mini")!;
    expect(upstream).toMatchObject({ kind: 3, attributes: { "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o-mini" } });
    expect(sent.split("-")[2]).toBe(upstream.spanId);
    /** the span's ancestors up to the request span */
    const ancestry = (s: ReceivedSpan): string[] => {
      const parent = byId.get(s.parentSpanId);
      return parent ? [parent.name, ...ancestry(parent)] : [];
    };
    expect(ancestry(upstream)).toContain("POST /v1/chat/completions");
    const commands = spans.filter((s) => s.name.startsWith("command "));
    expect(commands.map((s) => s.name).sort()).toEqual(["command reserveUsage", "command settleUsage"]);
    for (const command of commands) {
      expect(ancestry(command)).toContain("POST /v1/chat/completions");
      expect(spans.some((s) => s.name === "event_store.append" && s.parentSpanId === command.spanId)).toBe(true);
    }

    // every event of the request records its command's trace context; the hash chain covers it and verifies
    const lines = (await (await admin(`/events?userId=${USER}`)).text()).trim().split("\n");
    const events = lines.map((l) => JSON.parse(l) as RecordedEvent);
    const ofRequest = events.filter((e) => ["usage_reserved", "ai_usage", "usage_released"].includes(e.type));
    expect(ofRequest.map((e) => e.type).sort()).toEqual(["ai_usage", "usage_released", "usage_reserved"]);
    const commandIds = new Set(commands.map((s) => s.spanId));
    for (const e of ofRequest) {
      const [, trace, span] = e.metadata.traceparent!.split("-");
      expect(trace).toBe(TRACE);
      expect(commandIds.has(span!)).toBe(true);
    }
    const audit = (await (await admin(`/audit/verify/${USER}`)).json()) as { ok: boolean; problems: unknown[] };
    expect(audit).toMatchObject({ ok: true, problems: [] });

    // the projector's and the relay's batch spans link to the trace
    const linked = (prefix: string) => otlp.spans.find((s) => s.name.startsWith(prefix) && s.links.some((l) => l.traceId === TRACE));
    await until("a projector batch linked to the trace", () => linked("projector apply"));
    await until("a relay batch linked to the trace", () => linked(`relay publish ${topic}`));

    // the relayed records carry the event's traceparent next to the CloudEvents headers
    const usage = ofRequest.find((e) => e.type === "ai_usage")!;
    const record = await recordOf(usage.metadata.eventId);
    expect(record).toMatchObject({ ce_type: "ai_usage", traceparent: usage.metadata.traceparent });
  });

  it(
    "a caller's unsampled trace is recorded nowhere: its trace id goes to the provider (flag 00), not into the events or the records",
    { timeout: 120_000 },
    async () => {
      const user = `${USER}-unsampled`;
      const unsampled = "5cf92f3577b34da6a3ce929d0e0e4736";
      const sampled = "6df92f3577b34da6a3ce929d0e0e4736";
      expect((await admin("/billing/payment/process", { userId: user, amount: "5" })).status).toBe(201);
      const { key } = (await (await admin("/auth/api-keys", { userId: user, name: "trace" })).json()) as { key: string };
      const chat = (traceparent: string) =>
        fetch(`${server.url}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json", traceparent },
          body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "do not trace me" }] }),
        });
      expect((await chat(`00-${unsampled}-${PARENT}-00`)).status).toBe(200);
      expect(String(fixture.received.at(-1)!.headers.traceparent)).toMatch(new RegExp(`^00-${unsampled}-[0-9a-f]{16}-00$`));
      const lines = (await (await admin(`/events?userId=${user}`)).text()).trim().split("\n");
      const all = lines.map((l) => JSON.parse(l) as RecordedEvent);
      const usage = all.find((e) => e.type === "ai_usage")!;
      // the request's events (the hold, the charge, its transaction, the release) name it by correlation id only
      const ofRequest = all.filter((e) => e.metadata.correlationId === usage.metadata.correlationId);
      expect(ofRequest.map((e) => e.type)).toEqual(expect.arrayContaining(["usage_reserved", "ai_usage", "transaction_created"]));
      for (const e of ofRequest) expect(e.metadata).not.toHaveProperty("traceparent");
      const record = await recordOf(usage.metadata.eventId);
      expect(record).toMatchObject({ ce_type: "ai_usage", ce_correlationid: usage.metadata.correlationId });
      expect(record).not.toHaveProperty("traceparent");

      // a sampled request after it: once its spans are exported, any span of the unsampled one would be too
      expect((await chat(`00-${sampled}-${PARENT}-01`)).status).toBe(200);
      await until("the sampled request's server span", () =>
        otlp.spans.find((s) => s.traceId === sampled && s.name === "POST /v1/chat/completions"),
      );
      expect(otlp.spans.filter((s) => s.traceId === unsampled)).toEqual([]);
    },
  );
});
