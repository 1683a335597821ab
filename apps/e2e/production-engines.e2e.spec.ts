// `npm start` on the production engines: READ_STORE=mongo on FerretDB and the relay on Kafka, with the
// event store on SQLite and, where POSTGRES_URL is set, again on PostgreSQL (EVENT_STORE=postgres).
// Commands go in over HTTP; balances are read back over HTTP and straight from MongoDB with the official
// driver; the topic is read by a kafkajs consumer group and by kcat: both relayed types and only those,
// key = userId, CloudEvents binary-mode headers, ce_id = event id, per account in revision order.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { RELAYED_EVENT_TYPES, type RecordedEvent } from "../../domain/events.ts";
import { dropMongoDatabase, mongoDocuments } from "../../test/engines/raw-clients.ts";
import { createPostgresDatabase, dropPostgresDatabase, withPostgres } from "../../test/engines/raw-postgres.ts";
import { engineUrl, toolAvailable } from "../../test/engines/require-engine.ts";
import { consumeEvents, type TopicRecord } from "../../infra/kafka/consumer.ts";
import { deleteTopic } from "../../test/engines/raw-kafka-read.ts";
import { startServer } from "../../test/harness/server.ts";

const mongoUrl = engineUrl("mongo", "MONGO_URL");
const brokerList = engineUrl("kafka", "KAFKA_BROKERS");
const postgresUrl = engineUrl("postgres", "POSTGRES_URL");
const brokers = brokerList?.split(",") ?? [];
const run = promisify(execFile);
const ADMIN = "prod-e2e-admin-token-0123456789";
const RUN = randomUUID().slice(0, 8);

/** where the events go: env for `npm start`, what to remove afterwards, and how many events the engine holds */
interface EventStoreVariant {
  name: string;
  open: () => Promise<{ env: Record<string, string>; drop: () => Promise<void>; stored?: () => Promise<number> }>;
}
const variants: EventStoreVariant[] = [
  { name: "sqlite", open: async () => ({ env: {}, drop: async () => undefined }) }, // events.db in DATA_DIR
  ...(postgresUrl
    ? [
        {
          name: "postgres",
          open: async () => {
            const db = await createPostgresDatabase(postgresUrl, `e2e_prod_${RUN}`);
            const stored = () => withPostgres(db.url, async (c) => Number((await c.query("SELECT count(*) AS n FROM events")).rows[0].n));
            return {
              env: { EVENT_STORE: "postgres", POSTGRES_URL: db.url },
              drop: () => dropPostgresDatabase(postgresUrl, db.name),
              stored,
            };
          },
        },
      ]
    : []),
];

/** the record as a consumer sees it, whoever read it */
interface Seen {
  key: string | null;
  headers: Record<string, string>;
  event: RecordedEvent;
  timestamp: number;
}

function checkTopic(records: Seen[], expected: RecordedEvent[], reader: string) {
  const byId = new Map(expected.map((e) => [e.metadata.eventId, e]));
  expect(new Set(records.map((r) => r.headers.ce_type)), reader).toEqual(new Set(RELAYED_EVENT_TYPES));
  for (const r of records) {
    const e = byId.get(r.headers.ce_id!);
    expect(e, `${reader}: ce_id ${r.headers.ce_id} is no relayed event of the store`).toBeDefined();
    expect(r.key).toBe((e!.data as { userId: string }).userId);
    expect(r.headers).toMatchObject({
      ce_id: e!.metadata.eventId,
      ce_type: e!.type,
      ce_specversion: "1.0",
      ce_time: e!.metadata.occurredAt,
      "content-type": "application/json",
    });
    expect(r.headers.ce_source).toMatch(new RegExp(`^\\S*${e!.streamName}$`));
    expect(r.timestamp).toBe(Date.parse(e!.metadata.occurredAt));
    expect(r.event).toEqual(e); // value = the event JSON, as GET /events serves it
  }
  // every event, exactly once after dedupe on ce_id, in revision order per account (key)
  const seen = new Set<string>();
  const unique = records.filter((r) => !seen.has(r.headers.ce_id!) && seen.add(r.headers.ce_id!));
  const perKey = (list: { key: string; revision: number }[]) => {
    const m = new Map<string, number[]>();
    for (const { key, revision } of list) m.set(key, [...(m.get(key) ?? []), revision]);
    return m;
  };
  expect(unique.length, reader).toBe(expected.length);
  expect(perKey(unique.map((r) => ({ key: r.key!, revision: r.event.revision })))).toEqual(
    perKey(expected.map((e) => ({ key: (e.data as { userId: string }).userId, revision: e.revision }))),
  );
}

for (const variant of variants)
  describe.skipIf(!mongoUrl || !brokerList)(
    `production engines end to end (npm start, ${variant.name} event store, MongoDB read models, Kafka relay)`,
    () => {
      const MONGO_DB = `e2e_prod_${RUN}_${variant.name}`;
      const KAFKA_TOPIC = `e2e-prod-${RUN}-${variant.name}`;
      let server: Awaited<ReturnType<typeof startServer>> | undefined;
      let dataDir: string | undefined;
      let dropEvents: (() => Promise<void>) | undefined;
      afterAll(async () => {
        if (!dataDir) return; // the test did not run
        await server?.stop();
        await dropEvents?.().catch((e: unknown) => console.error(`could not drop the ${variant.name} event store:`, e));
        await dropMongoDatabase(mongoUrl!, MONGO_DB).catch((e: unknown) => console.error(`could not drop ${MONGO_DB}:`, e));
        await deleteTopic(brokers, KAFKA_TOPIC).catch((e: unknown) => console.error(`could not delete ${KAFKA_TOPIC}:`, e));
        rmSync(dataDir, { recursive: true, force: true });
      });

      it("commands over HTTP → balances in MongoDB → ai_usage and transaction_created on the topic", { timeout: 180_000 }, async () => {
        dataDir = mkdtempSync(join(tmpdir(), "aggregator-prod-e2e-"));
        const store = await variant.open();
        dropEvents = store.drop;
        server = await startServer({
          DATA_DIR: dataDir,
          ADMIN_TOKEN: ADMIN,
          READ_STORE: "mongo",
          MONGO_URL: mongoUrl!,
          MONGO_DB,
          KAFKA_BROKERS: brokerList!,
          KAFKA_TOPIC,
          ...store.env,
        });
        const api = async (method: string, path: string, body?: unknown) => {
          const res = await fetch(server!.url + path, {
            method,
            headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
          const text = await res.text();
          if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
          return { body: JSON.parse(text.split("\n")[0] || "null"), text };
        };
        const usage = (userId: string, extra: object = {}) =>
          api("POST", "/billing/usage/track", {
            userId,
            provider: "openai",
            model: "gpt-4o",
            promptTokens: 1000,
            completionTokens: 1000,
            ...extra,
          });

        await api("POST", "/billing/payment/process", { userId: "alice", amount: "25.5", method: "card" });
        for (let i = 0; i < 3; i++) expect((await usage("alice")).body.cost).toBe("0.0125"); // catalog price
        await api("POST", "/billing/transaction", { userId: "alice", type: "credit", amount: 1 });
        await api("POST", "/billing/payment/process", { userId: "bob", amount: "10" });
        await usage("bob", { cost: "0.25" });
        await usage("bob", { cost: "0.25" });
        await api("POST", "/billing/transaction", { userId: "bob", type: "debit", amount: "0.5" });
        await api("POST", "/billing/payment/process", { userId: "carol", amount: "5", paymentId: `pay-carol-${RUN}` });
        await api("POST", "/billing/payment/refund", { userId: "carol", paymentId: `pay-carol-${RUN}`, amount: "2" });
        await usage("carol", { cost: "0.1" });
        const last = await api("POST", "/billing/transaction", { userId: "carol", type: "adjustment", amount: "-0.4" });
        const position: number = last.body.position;

        const expected = { alice: ["26.4625", 26_462_500], bob: ["9", 9_000_000], carol: ["2.5", 2_500_000] } as const;
        for (const [userId, [balance]] of Object.entries(expected)) {
          const res = await api("GET", `/billing/balance/${userId}?minPosition=${position}`);
          expect(res.body).toMatchObject({ userId, balance, currency: "USD" });
        }
        const docs = await mongoDocuments(mongoUrl!, MONGO_DB, "balances");
        expect(docs.map((d) => [d._id, d.userId, d.balance, d.currency])).toEqual(
          Object.entries(expected).map(([userId, [, micro]]) => [userId, userId, micro, "USD"]),
        );
        for (const d of docs) expect(d._position).toBeLessThanOrEqual(position);

        // what the store holds (GET /events replays it): the relayed types are a subset of what was appended
        const events = (await api("GET", "/events")).text
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as RecordedEvent);
        const relayed = events.filter((e) => (RELAYED_EVENT_TYPES as readonly string[]).includes(e.type));
        if (store.stored) expect(await store.stored()).toBe(events.length); // they are in that engine's table
        expect(new Set(events.map((e) => e.type))).toEqual(
          new Set(["payment_processed", "payment_refunded", "ai_usage", "transaction_created"]),
        );
        expect(relayed.filter((e) => e.type === "ai_usage")).toHaveLength(6);
        expect(relayed.filter((e) => e.type === "transaction_created")).toHaveLength(13);

        // a kafkajs consumer group, from the beginning, until every relayed event arrived
        const viaKafkajs: TopicRecord[] = [];
        const controller = new AbortController();
        let arrived: () => void = () => undefined;
        const allArrived = new Promise<void>((resolve) => (arrived = resolve));
        const consuming = consumeEvents({
          brokers,
          topic: KAFKA_TOPIC,
          fromBeginning: true,
          signal: controller.signal,
          onEvent: async (r) => void (viaKafkajs.push(r) >= relayed.length && arrived()),
        });
        const timeout = setTimeout(() => controller.abort(), 60_000);
        await Promise.race([allArrived, consuming]);
        clearTimeout(timeout);
        controller.abort();
        await consuming;
        checkTopic(viaKafkajs, relayed, "kafkajs");

        // kcat (Debian package, installed by engines:up), raw: duplicates would show here
        if (!(await toolAvailable("kcat"))) return; // printed why; fails instead when REQUIRE_ENGINES names kcat
        const { stdout } = await run("kcat", ["-b", brokerList!, "-C", "-t", KAFKA_TOPIC, "-o", "beginning", "-e", "-q", "-J"], {
          maxBuffer: 64 << 20,
        });
        const viaKcat = stdout
          .trim()
          .split("\n")
          .map((line): Seen => {
            const m = JSON.parse(line) as { key: string | null; payload: string; ts: number; headers?: string[] };
            const h = m.headers ?? [];
            const headers = Object.fromEntries(h.flatMap((v, i) => (i % 2 === 0 ? [[v, h[i + 1]!]] : [])));
            return { key: m.key, headers, event: JSON.parse(m.payload) as RecordedEvent, timestamp: m.ts };
          });
        checkTopic(viaKcat, relayed, "kcat");
      });
    },
  );
