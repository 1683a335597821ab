// Usage: node infra/engines/wait.mjs kafka|mongo <brokers|url> [pid] [timeoutSec=90]
// Exits 0 once a real client gets an answer (kafkajs listTopics + group coordinator / mongodb ping); 1 on timeout or if <pid> dies.
import { Kafka, logLevel } from "kafkajs";
import { MongoClient } from "mongodb";

const [engine, target, pid, timeoutSec = "90"] = process.argv.slice(2);
const deadline = Date.now() + Number(timeoutSec) * 1000;

const probes = {
  async kafka() {
    const kafka = new Kafka({ brokers: target.split(","), logLevel: logLevel.NOTHING, connectionTimeout: 2000, retry: { retries: 0 } });
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.listTopics();
      // Also wait for the group coordinator: on a fresh broker the first FindCoordinator creates __consumer_offsets,
      // and until its partition is loaded, JoinGroup fails with "The coordinator is loading" and kafkajs consumers crash.
      const { groups } = await admin.describeGroups(["engines-wait"]);
      if (groups[0]?.errorCode) throw new Error(`group coordinator not ready (error ${groups[0].errorCode})`);
    } finally {
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
