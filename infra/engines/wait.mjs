// Usage: node infra/engines/wait.mjs kafka|mongo <brokers|url> [pid] [timeoutSec=90]
// Exits 0 once a real client gets an answer (kafkajs admin, group coordinator and
// idempotent producer / mongodb ping); 1 on timeout or if <pid> dies.
import { Kafka, logLevel } from "kafkajs";
import { MongoClient } from "mongodb";

const [engine, target, pid, timeoutSec = "90"] = process.argv.slice(2);
const deadline = Date.now() + Number(timeoutSec) * 1000;

const probes = {
  async kafka() {
    const kafka = new Kafka({ brokers: target.split(","), logLevel: logLevel.NOTHING, connectionTimeout: 2000, retry: { retries: 0 } });
    const admin = kafka.admin();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 3 } });
    try {
      await admin.connect();
      await admin.listTopics();
      // A fresh broker answers "The coordinator is loading" until (1) __consumer_offsets exists and is loaded (the
      // first FindCoordinator creates it; kafkajs consumers crash on it) and (2) it has a producer id block (the
      // first InitProducerId of an idempotent producer fetches one). Trigger and wait for both here.
      const { groups } = await admin.describeGroups(["engines-wait"]);
      if (groups[0]?.errorCode) throw new Error(`group coordinator not ready (error ${groups[0].errorCode})`);
      await producer.connect();
    } finally {
      await producer.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
    }
  },
  async mongo() {
    const client = new MongoClient(target, { serverSelectionTimeoutMS: 2000, connectTimeoutMS: 2000 });
    try {
      await client.db("admin").command({ ping: 1 });
    } finally {
      await client.close().catch(() => {});
    }
  },
};

const alive = () => {
  if (!pid) return true;
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch {
    return false;
  }
};

if (!probes[engine] || !target) {
  console.error("usage: wait.mjs kafka|mongo <brokers|url> [pid] [timeoutSec]");
  process.exit(2);
}
let last = "";
for (;;) {
  if (!alive()) {
    console.error(`${engine}: process ${pid} exited before answering`);
    process.exit(1);
  }
  try {
    await probes[engine]();
    process.exit(0);
  } catch (err) {
    last = err?.message ?? String(err);
  }
  if (Date.now() > deadline) {
    console.error(`${engine}: no answer from ${target} within ${timeoutSec} s (last error: ${last})`);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 1000));
}
