// Smoke test of the real engines started by infra/engines/up.sh: Kafka 4.4 via kafkajs, FerretDB via the mongodb driver,
// PostgreSQL 15 via pg.
import { randomUUID } from "node:crypto";
import { Kafka, logLevel } from "kafkajs";
import { MongoClient } from "mongodb";
import pg from "pg";
import { describe, it, expect, vi } from "vitest";
import { engineUrl } from "../../test/engines/require-engine.js";

const brokers = engineUrl("kafka", "KAFKA_BROKERS");
const mongoUrl = engineUrl("mongo", "MONGO_URL");
const postgresUrl = engineUrl("postgres", "POSTGRES_URL");

describe.skipIf(!brokers)("Kafka (kafkajs 2.2.4)", () => {
  it("creates a topic, produces with headers and consumes in a consumer group", async () => {
    const kafka = new Kafka({ clientId: "engines-smoke", brokers: brokers!.split(","), logLevel: logLevel.WARN });
    const topic = `smoke-${randomUUID()}`;
    const admin = kafka.admin();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    const consumer = kafka.consumer({ groupId: `smoke-${randomUUID()}` });
    try {
      await admin.connect();
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true })).toBe(true);
      expect(await admin.listTopics()).toContain(topic);

      await producer.connect();
      await producer.send({
        topic,
        acks: -1,
        messages: [{ key: "acct-1", value: '{"amount":42}', headers: { ce_id: "evt-1", ce_type: "smoke.tested" } }],
      });

      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      const received = new Promise<{ key?: string; value?: string; headers: Record<string, string> }>((resolve) => {
        void consumer.run({
          eachMessage: async ({ message }) => {
            const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
            resolve({ key: message.key?.toString(), value: message.value?.toString(), headers });
          },
        });
      });
      const msg = await received;
      expect(msg).toEqual({ key: "acct-1", value: '{"amount":42}', headers: { ce_id: "evt-1", ce_type: "smoke.tested" } });
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    }
  }, 60_000);
});

describe.skipIf(!mongoUrl)("FerretDB (mongodb driver)", () => {
  it("inserts, upserts with $inc and aggregates with $group/$sum", async () => {
    const client = new MongoClient(mongoUrl!, { serverSelectionTimeoutMS: 5000 });
    const db = client.db(`smoke_${randomUUID().replaceAll("-", "")}`);
    try {
      const usage = db.collection<{ account: string; model: string; tokens: number }>("usage");
      await usage.insertMany([
        { account: "a", model: "gpt", tokens: 10 },
        { account: "a", model: "claude", tokens: 5 },
        { account: "b", model: "gpt", tokens: 7 },
      ]);

      const totals = db.collection<{ _id: string; tokens: number; calls: number }>("tallies");
      for (const tokens of [3, 4]) {
        await totals.findOneAndUpdate({ _id: "a" }, { $inc: { tokens, calls: 1 } }, { upsert: true });
      }
      const after = await totals.findOneAndUpdate(
        { _id: "a" },
        { $inc: { tokens: 1, calls: 1 } },
        { upsert: true, returnDocument: "after" },
      );
      expect(after).toEqual({ _id: "a", tokens: 8, calls: 3 });

      // One accumulator per $group: FerretDB 1.24 computes only the first and returns 0 for the rest (FerretDB#4616).
      const byAccount = await usage
        .aggregate<{ _id: string; tokens: number }>([{ $group: { _id: "$account", tokens: { $sum: "$tokens" } } }, { $sort: { _id: 1 } }])
        .toArray();
      expect(byAccount).toEqual([
        { _id: "a", tokens: 15 },
        { _id: "b", tokens: 7 },
      ]);
    } finally {
      await db.dropDatabase().catch(() => {});
      await client.close();
    }
  }, 30_000);
});

describe.skipIf(!postgresUrl)("PostgreSQL (pg 8.23.1)", () => {
  it("is version 15, durable on commit, and delivers NOTIFY to a LISTEN connection only at COMMIT", async () => {
    const [listener, writer] = [new pg.Client({ connectionString: postgresUrl }), new pg.Client({ connectionString: postgresUrl })];
    await Promise.all([listener.connect(), writer.connect()]);
    try {
      const settings = await writer.query(
        "SELECT current_setting('server_version_num')::int / 10000 AS major, current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sync",
      );
      expect(settings.rows[0]).toEqual({ major: 15, fsync: "on", sync: "on" });
      const channel = `smoke_${randomUUID().replaceAll("-", "")}`;
      const heard: string[] = [];
      listener.on("notification", (n) => heard.push(n.payload ?? ""));
      await listener.query(`LISTEN ${channel}`);
      await writer.query("BEGIN");
      await writer.query("SELECT pg_notify($1, 'committed')", [channel]);
      await listener.query("SELECT 1"); // a round trip on the listening connection: nothing has arrived yet
      expect(heard).toEqual([]);
      await writer.query("COMMIT");
      await vi.waitFor(() => expect(heard).toEqual(["committed"]));
    } finally {
      await Promise.all([listener.end(), writer.end()]);
    }
  });
});
