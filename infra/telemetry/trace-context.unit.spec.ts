import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  type Sampler,
} from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { inSpan, isUnsampled, parentOf, parentOfHeaders, traceHeadersOf, traceparentOf } from "./trace-context.ts";
import { pooledIds, skippingUnsampled } from "./tracing.ts";

// The trace context handed on explicitly (no context manager): what a traceparent string names as the
// parent, and the spans inSpan makes from it with the real SDK (exported to memory).

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN = "00f067aa0ba902b7";

function sdk(sampler: Sampler = new ParentBasedSampler({ root: new AlwaysOnSampler() })) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ sampler, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { tracer: provider.getTracer("test"), spans: () => exporter.getFinishedSpans() };
}

describe("parentOf: the parent a traceparent names", () => {
  it("reads a version-00 traceparent as a remote parent, its sampled flag included", () => {
    expect(trace.getSpanContext(parentOf(`00-${TRACE}-${SPAN}-01`))).toEqual({
      traceId: TRACE,
      spanId: SPAN,
      traceFlags: 1,
      isRemote: true,
    });
    expect(trace.getSpanContext(parentOf(`00-${TRACE}-${SPAN}-00`))?.traceFlags).toBe(0);
  });

  it("a later version with more fields goes through the W3C propagator", () => {
    expect(trace.getSpanContext(parentOf(`01-${TRACE}-${SPAN}-01-later`))).toMatchObject({ traceId: TRACE, spanId: SPAN });
  });

  it("isUnsampled: a traceparent of ours whose flags lack the sampled bit", () => {
    expect(isUnsampled(`00-${TRACE}-${SPAN}-00`)).toBe(true);
    expect(isUnsampled(`00-${TRACE}-${SPAN}-02`)).toBe(true);
    expect(isUnsampled(`00-${TRACE}-${SPAN}-01`)).toBe(false);
    expect(isUnsampled(`00-${TRACE}-${SPAN}-03`)).toBe(false);
    expect(isUnsampled(undefined)).toBe(false);
    expect(isUnsampled(`01-${TRACE}-${SPAN}-00-later`)).toBe(false);
  });

  it.each([
    ["absent", undefined],
    ["empty", ""],
    ["an all-zero trace id", `00-${"0".repeat(32)}-${SPAN}-01`],
    ["an all-zero span id", `00-${TRACE}-${"0".repeat(16)}-01`],
    ["flags that are not hex", `00-${TRACE}-${SPAN}-zz`],
    ["a trace id that is not hex", `00-${TRACE.slice(0, 31)}x-${SPAN}-01`],
    ["version ff", `ff-${TRACE}-${SPAN}-01`],
    ["garbage", "not a traceparent"],
  ])("names no parent when %s", (_, traceparent) => {
    expect(trace.getSpanContext(parentOf(traceparent))).toBeUndefined();
  });

  it("headers bring tracestate along, and hand it on", () => {
    const { tracer } = sdk();
    const parent = parentOfHeaders({ traceparent: `00-${TRACE}-${SPAN}-01`, tracestate: "vendor=x" });
    const span = tracer.startSpan("child", {}, parent);
    expect(traceHeadersOf(span)).toEqual({ traceparent: traceparentOf(span), tracestate: "vendor=x" });
    expect(traceparentOf(span)).toMatch(new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));
  });
});

describe("inSpan: a span child of the traceparent it is handed", () => {
  it("records the span under that parent, with its attributes, and gives the work its traceparent", async () => {
    const { tracer, spans } = sdk();
    const handedOn = await inSpan(
      tracer,
      "command x",
      { kind: SpanKind.INTERNAL, parent: `00-${TRACE}-${SPAN}-01`, attributes: () => ({ "aggregator.command": "x" }) },
      async (traceparent) => traceparent,
    );
    const [span] = spans();
    expect(span).toMatchObject({ name: "command x", attributes: { "aggregator.command": "x" }, parentSpanContext: { spanId: SPAN } });
    expect(handedOn).toBe(`00-${TRACE}-${span!.spanContext().spanId}-01`);
  });

  it("an unsampled parent: nothing recorded, no attribute or link built, nothing handed on", async () => {
    const { tracer, spans } = sdk();
    let built = 0;
    const handedOn = await inSpan(
      tracer,
      "command x",
      { kind: SpanKind.INTERNAL, parent: `00-${TRACE}-${SPAN}-00`, attributes: () => ({ built: ++built }), links: () => [] },
      async (traceparent) => traceparent,
    );
    expect(spans()).toEqual([]);
    expect(built).toBe(0);
    expect(handedOn).toBeUndefined();
  });

  it("follows the configured sampler: always_off records no root span either, and hands nothing on", async () => {
    const { tracer, spans } = sdk(new AlwaysOffSampler());
    const handedOn = await inSpan(tracer, "projector apply", { kind: SpanKind.CONSUMER }, async (traceparent) => traceparent);
    expect(spans()).toEqual([]);
    expect(handedOn).toBeUndefined();
  });

  it("a failure marks the span failed unless it is an expected outcome; the error goes on either way", async () => {
    const { tracer, spans } = sdk();
    const refused = new Error("refused");
    const options = { kind: SpanKind.INTERNAL, expected: (e: unknown) => e === refused };
    await expect(inSpan(tracer, "refused", options, () => Promise.reject(refused))).rejects.toBe(refused);
    await expect(inSpan(tracer, "failed", options, () => Promise.reject(new Error("disk")))).rejects.toThrow("disk");
    const status = Object.fromEntries(spans().map((s) => [s.name, s.status.code]));
    expect(status).toEqual({ refused: SpanStatusCode.UNSET, failed: SpanStatusCode.ERROR });
  });
});

describe("skippingUnsampled: no SDK work under a parent that was not sampled", () => {
  const unsampled = parentOf(`00-${TRACE}-${SPAN}-00`);

  it("hands the unsampled parent's context on as it came, records nothing", () => {
    const { tracer, spans } = sdk();
    const span = skippingUnsampled(tracer, undefined).startSpan("command x", {}, unsampled);
    span.end();
    expect(span.isRecording()).toBe(false);
    expect(traceparentOf(span)).toBe(`00-${TRACE}-${SPAN}-00`);
    expect(spans()).toEqual([]);
  });

  it("a sampled parent or no parent: the SDK's span, as without it", () => {
    const { tracer, spans } = sdk();
    const skipping = skippingUnsampled(tracer, "parentbased_traceidratio");
    skipping.startSpan("child", {}, parentOf(`00-${TRACE}-${SPAN}-01`)).end();
    skipping.startSpan("root").end();
    expect(spans().map((s) => [s.name, s.parentSpanContext?.spanId])).toEqual([
      ["child", SPAN],
      ["root", undefined],
    ]);
  });

  it.each(["always_on", "traceidratio"])("%s samples without looking at the parent: the SDK decides every span", (sampler) => {
    const { tracer, spans } = sdk(new AlwaysOnSampler());
    skippingUnsampled(tracer, sampler).startSpan("command x", {}, unsampled).end();
    expect(spans().map((s) => s.spanContext().traceId)).toEqual([TRACE]);
  });
});

describe("pooledIds: trace and span ids cut from pooled random bytes", () => {
  it("W3C ids: 32 and 16 lowercase hex digits, all distinct", () => {
    const ids = pooledIds();
    const traces = Array.from({ length: 2_000 }, () => ids.generateTraceId());
    const spans = Array.from({ length: 2_000 }, () => ids.generateSpanId());
    for (const id of traces) expect(id).toMatch(/^[0-9a-f]{32}$/);
    for (const id of spans) expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set([...traces, ...spans]).size).toBe(4_000);
  });

  it("never an all-zero id (invalid): it is skipped for the next bytes", () => {
    /** a source whose first 4 KiB are zeros */
    const zerosFirst = () => {
      let calls = 0;
      return (bytes: number) => (calls++ === 0 ? Buffer.alloc(bytes) : Buffer.alloc(bytes, 0xab));
    };
    expect(pooledIds(zerosFirst()).generateSpanId()).toBe("ab".repeat(8));
    expect(pooledIds(zerosFirst()).generateTraceId()).toBe("ab".repeat(16));
  });

  it("is what the SDK uses when given: a span's ids come from it", () => {
    const provider = new BasicTracerProvider({ idGenerator: { generateTraceId: () => TRACE, generateSpanId: () => SPAN } });
    expect(provider.getTracer("t").startSpan("x").spanContext()).toMatchObject({ traceId: TRACE, spanId: SPAN });
  });
});
