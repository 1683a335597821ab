// A private Kafka 4.4 broker (KRaft, one node) for tests that stop and restart the broker itself, so they
// never touch the shared one of up.sh. Same jars and properties as up.sh. The storage in `dir` is
// formatted (`StorageTool format --standalone`) only once: a restart on the same `dir` keeps topics and
// records. Readiness = a real kafkajs client gets answers (admin, group coordinator, idempotent producer).
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";

const ROOT = resolve(import.meta.dirname, "../..");
const CLASSPATH = join(ROOT, "infra/engines/kafka/target/kafka-libs/*"); // quoted: the JVM expands it
const jvmOptions = (dir: string) => [
  "-Xms256m",
  "-Xmx512m",
  "-XX:+UseG1GC",
  "-Djava.awt.headless=true",
  `-Dkafka.logs.dir=${join(dir, "logs")}`,
  `-Dlog4j2.configurationFile=${join(ROOT, "infra/engines/kafka/log4j2.properties")}`,
];

export interface KafkaProcessOptions {
  port: number;
  controllerPort: number;
  /** absolute; holds server.properties, data/, logs/ and broker.out; reuse it to restart with the same data */
  dir: string;
  /** readiness deadline, default 90 s */
  timeoutMs?: number;
}

export interface KafkaProcess {
  brokers: string[];
  pid: number;
  /** SIGTERM (controlled shutdown), SIGKILL after 20 s; resolves when the JVM exited */
  stop(): Promise<void>;
  /** SIGKILL; resolves when the JVM exited */
  kill(): Promise<void>;
}

const TEMPLATE = fileURLToPath(new URL("../../infra/engines/kafka/server.properties", import.meta.url));
const serverProperties = ({ port, controllerPort, dir }: KafkaProcessOptions) =>
  readFileSync(TEMPLATE, "utf8")
    .replaceAll("@PORT@", String(port))
    .replaceAll("@CONTROLLER_PORT@", String(controllerPort))
    .replaceAll("@LOG_DIR@", join(dir, "data"));

const tail = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").split("\n").slice(-60).join("\n") : "");
const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, "exit").then(() => undefined);

function run(args: string[], dir: string, out: number): ChildProcess {
  return spawn("java", [...jvmOptions(dir), "-cp", CLASSPATH, ...args], { cwd: dir, stdio: ["ignore", out, out] });
}

/** kafkajs gets answers from the admin API, the group coordinator and an idempotent producer */
async function answers(brokers: string[]): Promise<void> {
  const kafka = new Kafka({
    brokers,
    clientId: "kafka-process-wait",
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 3 } });
  try {
    await admin.connect();
    await admin.listTopics();
    const { groups } = await admin.describeGroups(["kafka-process-wait"]);
    const errorCode = (groups[0] as { errorCode?: number } | undefined)?.errorCode; // untyped in kafkajs
    if (errorCode) throw new Error(`group coordinator not ready (error ${errorCode})`);
    await producer.connect();
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

export async function startKafka(options: KafkaProcessOptions): Promise<KafkaProcess> {
  const { port, dir, timeoutMs = 90_000 } = options;
  for (const sub of ["data", "logs"]) mkdirSync(join(dir, sub), { recursive: true });
  const properties = join(dir, "server.properties");
  const logFile = join(dir, "broker.out");
  writeFileSync(properties, serverProperties(options));
  const out = openSync(logFile, "a");
  if (!existsSync(join(dir, "data", "meta.properties"))) {
    let clusterId: string;
    do clusterId = randomBytes(16).toString("base64url");
    while (clusterId.startsWith("-"));
    const format = run(["kafka.tools.StorageTool", "format", "--standalone", "-t", clusterId, "-c", properties], dir, out);
    const [code] = (await once(format, "exit")) as [number | null];
    if (code !== 0) throw new Error(`kafka storage format failed (exit ${code}):\n${tail(logFile)}`);
  }
  const child = run(["kafka.Kafka", properties], dir, out);
  // never leave a broker behind when the test process exits
  const reap = () => child.kill("SIGKILL");
  process.once("exit", reap);
  const brokers = [`127.0.0.1:${port}`];
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`kafka exited (${child.exitCode ?? child.signalCode}) before answering:\n${tail(logFile)}`);
    }
    try {
      await answers(brokers);
      break;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`kafka on ${brokers[0]} not ready after ${timeoutMs} ms (${String(last)}):\n${tail(logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const done = exited(child).then(() => void process.removeListener("exit", reap));
  return {
    brokers,
    pid: child.pid!,
    async stop() {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await done;
      clearTimeout(timer);
    },
    async kill() {
      child.kill("SIGKILL");
      await done;
    },
  };
}
