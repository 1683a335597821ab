import {
  AlwaysOnSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type Sampler,
} from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { createCommandHandler, type CommandContext } from "../../application/commands/command-handler.ts";
import { accountDecider } from "../../domain/account.ts";
import { accountStream } from "../../domain/events.ts";
import { verifyChain } from "../../domain/hash-chain.ts";
import { NOW, pay, USD } from "../../test/fixtures/account.fixtures.ts";
import { createMemoryEventStore } from "../memory/event-store.ts";
import { instrumentCommands } from "./commands.ts";
import { instrumentEventStore } from "./event-store.ts";
import { createMetrics } from "./metrics.ts";
import { skippingUnsampled } from "./tracing.ts";

// What a command's trace leaves in the events it decides, through the decorators as the composition root
// stacks them (command handler over the instrumented event store, real SDK, spans exported to memory):
// a sampled trace's traceparent in every event's metadata and the command → append spans; a dropped
// trace's nothing at all (no span, no traceparent: the correlation id alone names the request).

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN = "00f067aa0ba902b7";

function traced(sampler: Sampler = new ParentBasedSampler({ root: new AlwaysOnSampler() })) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ sampler, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = skippingUnsampled(provider.getTracer("test"), undefined);
  const store = createMemoryEventStore();
  const metrics = createMetrics();
  const events = instrumentEventStore(store, metrics, (provider, model) => ({ provider, model }), tracer);
  const accounts = instrumentCommands(createCommandHandler(events).for(accountDecider, accountStream), metrics, tracer);
  const ctx = (traceparent?: string): CommandContext => ({
    actor: { type: "admin", id: "admin" },
    correlationId: "req-1",
    now: NOW,
    ...(traceparent ? { traceparent } : {}),
  });
  return { store, accounts, ctx, spans: () => exporter.getFinishedSpans() };
}

describe("a command's trace in its events", () => {
  it("a sampled trace: every event records the command span's traceparent; the append span is the command's child", async () => {
    const { store, accounts, ctx, spans } = traced();
    await accounts.handle("u1", pay("p1", 10 * USD), ctx(`00-${TRACE}-${SPAN}-01`));
    const [command, append] = ["command processPayment", "event_store.append"].map((name) => spans().find((s) => s.name === name)!);
    expect(command!.parentSpanContext?.spanId).toBe(SPAN);
    expect(append!.parentSpanContext?.spanId).toBe(command!.spanContext().spanId);
    const recorded = await store.readStream(accountStream("u1"));
    expect(recorded.length).toBeGreaterThan(0);
    for (const event of recorded) expect(event.metadata.traceparent).toBe(`00-${TRACE}-${command!.spanContext().spanId}-01`);
    expect(verifyChain(recorded).ok).toBe(true);
  });

  it("a dropped trace: no span, and no event records a traceparent (the correlation id remains)", async () => {
    const { store, accounts, ctx, spans } = traced();
    await accounts.handle("u1", pay("p1", 10 * USD), ctx(`00-${TRACE}-${SPAN}-00`));
    expect(spans()).toEqual([]);
    const recorded = await store.readStream(accountStream("u1"));
    expect(recorded.length).toBeGreaterThan(0);
    for (const event of recorded) {
      expect(event.metadata).not.toHaveProperty("traceparent");
      expect(event.metadata.correlationId).toBe("req-1");
    }
    expect(verifyChain(recorded).ok).toBe(true);
  });

  it("a command outside any request (no parent): a root span when the sampler keeps it, recorded in its events; nothing when it drops it", async () => {
    const kept = traced();
    await kept.accounts.handle("u1", pay("p1", 10 * USD), kept.ctx());
    const root = kept.spans().find((s) => s.name === "command processPayment")!;
    expect(root.parentSpanContext).toBeUndefined();
    expect(kept.spans().find((s) => s.name === "event_store.append")!.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    for (const event of await kept.store.readStream(accountStream("u1")))
      expect(event.metadata.traceparent).toBe(`00-${root.spanContext().traceId}-${root.spanContext().spanId}-01`);

    const dropped = traced(new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0) }));
    await dropped.accounts.handle("u1", pay("p1", 10 * USD), dropped.ctx());
    expect(dropped.spans()).toEqual([]);
    for (const event of await dropped.store.readStream(accountStream("u1"))) expect(event.metadata).not.toHaveProperty("traceparent");
  });
});
