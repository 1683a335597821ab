// The relay under fire: events are appended continuously to a SQLite event store while the relay is
// killed mid-stream and restarted, and while its (private) Kafka broker is killed and restarted under it.
// Checks the relay's delivery contract (README, "Guarantees and how they are kept"): every event at least once, in order per account,
// exactly once after dedupe on ce_id. The broker is this test's own (test/engines/kafka-process.ts):
// the shared one at KAFKA_BROKERS serves other test files in parallel and is never restarted.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { accountDecider, type AccountCommand } from "../../domain/account.ts";
import { RELAYED_EVENT_TYPES, accountStream, type RecordedEvent } from "../../domain/events.ts";
import { engineUrl } from "../../test/engines/require-engine.ts";
import { startKafka, type KafkaProcess } from "../../test/engines/kafka-process.ts";
import { readTopic, type TopicRecord } from "../../infra/kafka/consumer.ts";
import { createKafkaPublisher } from "../../infra/kafka/publisher.ts";
import { openSqliteEventStore } from "../../infra/sqlite/event-store.ts";
import { openSqliteReadStore } from "../../infra/sqlite/read-store.ts";
import { createCommandHandler } from "../../application/commands/command-handler.ts";
import { freePort } from "../../test/harness/server.ts";
import { startRelay } from "./start.ts";

// Gate: the private broker runs from the jars engines:up provides, so it runs wherever Kafka does.
const shared = engineUrl("kafka", "KAFKA_BROKERS");
let dir: string | undefined;
const USERS = 12;
const TOPIC = "aggregator.events";
const quiet = { info: () => undefined, warn: () => undefined };

async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 60_000) {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** appends payments and usage charges for USERS accounts through the real command path until stopped */
function writeContinuously(store: ReturnType<typeof openSqliteEventStore>) {
  const accounts = createCommandHandler(store).for(accountDecider, accountStream);
  let running = true;
  let i = 0;
  const done = (async () => {
    while (running) {
      const userId = `user-${i % USERS}`;
      const now = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
      const id = `r${i}`;
      const command: AccountCommand =
        i < USERS || i % 9 === 0
          ? {
              type: "processPayment",
              data: { userId, paymentId: `pay-${id}`, transactionId: `txn-${id}`, amount: 10_000_000, currency: "USD", method: "card" },
              now,
            }
          : {
              type: "trackUsage",
              now,
              data: {
                userId,
                usageId: `use-${id}`,
                transactionId: `txn-${id}`,
                requestId: `req-${id}`,
                service: "chat",
                resource: "chat.completions",
                provider: "openai",
                model: "gpt-4o",
                promptTokens: 100,
                completionTokens: 50,
                cost: 400,
                prices: { promptPerMillion: 1_000_000, completionPerMillion: 3_000_000 },
                timestamp: now,
              },
            };
      await accounts.handle(userId, command, { actor: { type: "system", id: "relay-restart" }, correlationId: id, now });
      i++;
      if (i % 2 === 0) await sleep(5); // a steady stream, not one burst
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
    },
    commands: () => i,
  };
}

describe.skipIf(!shared)("relay: killed mid-stream, Kafka restarted under it (private broker)", () => {
  afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

  it("every event at least once, in order per account; exactly once after dedupe on ce_id", { timeout: 240_000 }, async () => {
    dir = mkdtempSync(join(tmpdir(), "relay-restart-"));
    const kafkaOptions = { port: await freePort(), controllerPort: await freePort(), dir: join(dir, "kafka") };
    let kafka: KafkaProcess = await startKafka(kafkaOptions);
    const store = openSqliteEventStore(join(dir, "events.db"));
    const readStore = openSqliteReadStore(join(dir, "read.db")); // the relay's checkpoint survives its kill
    const runs: { stop(): void; done: Promise<unknown>; stats: object }[] = [];
    const t0 = Date.now();
    const steps: string[] = [];
    const step = (name: string) => steps.push(`${name} @${((Date.now() - t0) / 1000).toFixed(1)}s`);
    const start = async () => {
      const controller = new AbortController();
      // kafkajs logs every refused connection while the broker is down: the relay's stats count them instead
      const publisher = createKafkaPublisher({ brokers: kafka.brokers, topic: TOPIC, clientId: "relay-restart", logLevel: 0 });
      const relay = await startRelay({ store, readStore, publisher, signal: controller.signal, log: quiet, batchSize: 50 });
      const done = relay.done.then(() => publisher.close().catch(() => undefined));
      runs.push({ stop: () => controller.abort(), done, stats: relay.stats });
      return { relay };
    };
    const writer = writeContinuously(store);
    try {
      // 1. relay A, killed while records flow (abort races the in-flight send: no checkpoint for it)
      let { relay } = await start();
      await waitFor("relay A to publish", () => relay.stats.published >= 300);
      step("relay A killed");
      runs.at(-1)!.stop(); // not awaited: a killed process waits for nothing
      const killedAt = relay.stats.lastPosition;
      // 2. relay B from the checkpoint; Kafka killed (SIGKILL) under it, then restarted on the same data
      ({ relay } = await start());
      await waitFor("relay B to publish", () => relay.stats.published >= 200);
      step("kafka SIGKILL");
      await kafka.kill();
      await sleep(1500); // appends continue while the broker is gone
      kafka = await startKafka(kafkaOptions);
      step("kafka up again");
      const afterKill = relay.stats.published;
      await waitFor("relay B to publish after the broker restart", () => relay.stats.published > afterKill + 100);
      // 3. relay B killed mid-stream, relay C started; Kafka stopped (SIGTERM) and restarted under C
      step("relay B killed");
      runs.at(-1)!.stop();
      ({ relay } = await start());
      await waitFor("relay C to publish", () => relay.stats.published >= 100);
      step("kafka SIGTERM");
      await kafka.stop();
      kafka = await startKafka(kafkaOptions);
      step("kafka up again");
      const afterStop = relay.stats.published;
      await waitFor("relay C to publish after the broker restart", () => relay.stats.published > afterStop + 100);
      // 4. writes stop; relay C catches up to the head
      await writer.stop();
      const head = await store.headPosition();
      await waitFor("relay C to checkpoint the head", () => relay.stats.lastPosition >= head, 90_000);
      runs.at(-1)!.stop();
      await Promise.all(runs.map((r) => r.done));
      step("relay C at the head");
      console.log(
        `relay-restart: ${writer.commands()} commands, head ${head}, relay A killed at checkpoint ${killedAt}; ${steps.join(", ")}\n` +
          runs.map((r, i) => `  relay ${"ABC"[i]}: ${JSON.stringify(r.stats)}`).join("\n"),
      );

      const all: RecordedEvent[] = [];
      for (
        let page = await store.readAll({ maxCount: 5000 });
        page.length > 0;
        page = await store.readAll({ after: page.at(-1)!.position, maxCount: 5000 })
      )
        all.push(...page);
      const relayedTypes = new Set<string>(RELAYED_EVENT_TYPES);
      const expected = all.filter((e) => relayedTypes.has(e.type));
      const records = await readTopic({ brokers: kafka.brokers, topic: TOPIC, timeoutMs: 60_000 });
      console.log(
        `relay-restart: ${expected.length} relayable events, ${records.length} records on the topic (${records.length - expected.length} duplicates)`,
      );

      expect(new Set(records.map((r) => r.event.type))).toEqual(relayedTypes);
      // at least once: every relayable event id is on the topic
      const ids = new Set(records.map((r) => r.id));
      expect(expected.filter((e) => !ids.has(e.metadata.eventId)).map((e) => e.position)).toEqual([]);
      // exactly once after dedupe on ce_id, and nothing that is not in the store
      const seen = new Set<string>();
      const unique = records.filter((r) => !seen.has(r.id) && seen.add(r.id));
      expect(unique.length).toBe(expected.length);
      expect(unique.map((r) => r.id).sort()).toEqual(expected.map((e) => e.metadata.eventId).sort());
      // in order per account: first occurrences per key follow the stream's revisions
      const byKey = (list: { key: string; revision: number }[]) => {
        const m = new Map<string, number[]>();
        for (const { key, revision } of list) m.set(key, [...(m.get(key) ?? []), revision]);
        return m;
      };
      expect(byKey(unique.map((r: TopicRecord) => ({ key: r.key!, revision: r.event.revision })))).toEqual(
        byKey(expected.map((e) => ({ key: (e.data as { userId: string }).userId, revision: e.revision }))),
      );
      for (const r of records) expect(r.key).toBe((r.event.data as { userId: string }).userId);
      expect(new Set(unique.map((r) => r.key)).size).toBe(USERS);
    } finally {
      await writer.stop().catch(() => undefined);
      for (const r of runs) r.stop();
      await Promise.all(runs.map((r) => r.done));
      await store.close();
      await readStore.close();
      await kafka.stop();
    }
  });
});
