// Issue 3 "Measure": projection catch-up on MongoDB (FerretDB here), events/s from an empty database to the
// head (runProjector: read $all from SQLite, load the touched documents, evolve, guarded writes, checkpoint
// after each batch), vs raw bulkWrite of the same documents: every document write the projector makes, batch
// by batch (one unordered bulkWrite per collection, collections in parallel, then the checkpoint): insertOne
// for an id not written before, replaceOne for the others — the fastest raw way, it reads nothing — with
// the same indexes, into another empty database, in the same run. (All replaceOne upserts would be a far
// weaker baseline on FerretDB; BENCH_PROJECTION_UPSERT=1 adds it as a diagnostic row.)
// Target: projector/raw >= 0.5. Prints tables, never asserts. Loopback server only.
//   MONGO_URL=mongodb://127.0.0.1:27017/ node --import tsx bench/projection-mongo.ts
// BENCH_PROJECTION_EVENTS (default 50000); BENCH_ROUNDS (default 1) alternating rounds, median taken;
// BENCH_PROJECTION_UPSERT=1 adds the upsert diagnostic (keep the events small then).
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { dropMongoDatabase, openRawMongo } from "../test/engines/raw-clients.ts";
import { createMemoryReadStore } from "../infra/memory/read-store.ts";
import { openMongoReadStore } from "../infra/mongo/read-store.ts";
import { openSqliteEventStore } from "../infra/sqlite/event-store.ts";
import { allProjections } from "../projections/index.ts";
import type { BatchWrite, Doc, ReadStore } from "../projections/read-store.ts";
import { projectToHead } from "../test/harness/read-models.ts";
import { seedSynthetic } from "../test/fixtures/synthetic.ts";
import { fmt, memoryOf, printMachine, printTable } from "./machine.ts";

const EVENTS = Number(process.env.BENCH_PROJECTION_EVENTS ?? 50_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
/** adds the all-upserts diagnostic: on FerretDB 1.24 superlinear (5k events: 8.5 s vs 0.5 s for inserts; 50k: > 10 min) */
const UPSERT = process.env.BENCH_PROJECTION_UPSERT === "1";
const ACCOUNTS = 100;
const BATCH = 1000; // the projector's default batch size
const url = process.env.MONGO_URL;
if (!url) {
  console.error("projection-mongo bench: MONGO_URL is not set");
  process.exit(2);
}
if (!/^mongodb:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\/?$/.test(url)) {
  console.error(`projection-mongo bench: a loopback server only, got ${url}`);
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), "bench-projection-mongo-"));
const events = openSqliteEventStore(join(dir, "events.db"));
const databases: string[] = [];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const freshDb = (kind: string) => {
  const name = `bench_projection_${kind}_${randomUUID().slice(0, 8)}`;
  databases.push(name);
  return name;
};

/** the projector's writes, batch by batch, captured by projecting once into memory */
async function captureWrites(): Promise<BatchWrite[][]> {
  const memory = createMemoryReadStore();
  const batches: BatchWrite[][] = [];
  const capturing: ReadStore = { ...memory, writeBatch: async (writes) => (batches.push(writes), memory.writeBatch!(writes)) };
  await projectToHead(events, capturing, BATCH);
  return batches;
}

async function projectorRound(): Promise<{ seconds: number; counts: number[]; db: string }> {
  const db = freshDb("projector");
  const reads = await openMongoReadStore(url!, db);
  const t0 = performance.now();
  await projectToHead(events, reads, BATCH);
  const seconds = (performance.now() - t0) / 1000;
  const counts = await Promise.all(COLLECTIONS.map((c) => reads.collection(c).count()));
  await reads.close();
  return { seconds, counts, db };
}

type Raw = "upsert" | "insert";
/** `upsert`: replaceOne upserts only; `insert`: insertOne for ids not written yet, replaceOne for the others */
async function rawRound(batches: BatchWrite[][], mode: Raw): Promise<{ seconds: number; counts: number[]; db: string }> {
  const db = freshDb(`raw_${mode}`);
  const indexes = await openMongoReadStore(url!, db); // createIndex, as runProjector does at its start
  const raw = await openRawMongo(url!, db);
  const written = new Map<string, Set<string>>();
  const write = async (collection: string, docs: Doc[]) => {
    if (mode === "upsert") return raw.replaceMany(collection, docs);
    const ids = written.get(collection) ?? written.set(collection, new Set()).get(collection)!;
    const fresh = docs.filter((d) => !ids.has(d._id));
    for (const d of fresh) ids.add(d._id);
    await raw.insertOrReplace(
      collection,
      fresh,
      docs.filter((d) => !fresh.includes(d)),
    );
  };
  const t0 = performance.now();
  for (const p of allProjections) for (const fields of p.indexes ?? []) await indexes.collection(p.collection).ensureIndex(fields);
  for (const writes of batches) {
    await Promise.all(writes.map((w) => (w.op === "putIfNewer" ? write(w.collection, w.docs) : undefined)));
    for (const w of writes) if (w.op === "put") await write(w.collection, [w.doc]); // the checkpoint, last
  }
  const seconds = (performance.now() - t0) / 1000;
  const counts = await Promise.all(COLLECTIONS.map((c) => raw.count(c)));
  await Promise.all([raw.close(), indexes.close()]);
  return { seconds, counts, db };
}

const COLLECTIONS = [...new Set(allProjections.map((p) => p.collection))];
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  // Stopped (npm run bench's timeout): do NOT drop now. The server is still running this process's last
  // command, and FerretDB 1.24 (SQLite) dies with SIGBUS when a database is dropped under a running command.
  process.once(signal, () => {
    console.error(`projection-mongo: ${signal}; left behind, drop them later: ${databases.join(", ") || "nothing"}`);
    process.exit(130);
  });
}
printMachine("projection-mongo: projector catch-up on MongoDB (FerretDB) vs raw bulkWrite of the same documents");
try {
  const t0 = performance.now();
  await seedSynthetic(events, { accounts: ACCOUNTS, eventsPerAccount: Math.ceil(EVENTS / ACCOUNTS) });
  const head = await events.headPosition();
  const batches = await captureWrites();
  const docWrites = batches.flat().reduce((n, w) => n + (w.op === "putIfNewer" ? w.docs.length : 0), 0);
  console.log(
    `event store: ${fmt(head)} events (${ACCOUNTS} accounts, synthetic gateway traffic), seeded and captured in ` +
      `${fmt((performance.now() - t0) / 1000, 1)} s: ${fmt(batches.length)} batches, ${fmt(docWrites)} document writes into ${COLLECTIONS.length} collections; server ${url}`,
  );

  const rates: Record<Raw | "projector", number[]> = { upsert: [], insert: [], projector: [] };
  const counts: number[][] = [];
  const runs = [
    ...(UPSERT ? [["upsert", () => rawRound(batches, "upsert")] as const] : []),
    ["insert", () => rawRound(batches, "insert")] as const,
    ["projector", projectorRound] as const,
  ];
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of runs) {
      const r = await run();
      console.log(`  round ${round + 1}, ${name}: ${fmt(r.seconds, 1)} s`);
      rates[name].push(head / r.seconds);
      counts.push(r.counts);
      await dropMongoDatabase(url!, r.db)
        .then(() => databases.splice(databases.indexOf(r.db), 1))
        .catch(() => undefined);
    }
  }
  if (counts.some((c) => JSON.stringify(c) !== JSON.stringify(counts[0])))
    throw new Error(`document counts differ: ${JSON.stringify(counts)}`);
  const raw = median(rates.insert);
  const row = (what: string, list: number[]) => ({
    writer: what,
    "events/s (median)": fmt(median(list)),
    "rounds (events/s)": list.map((r) => fmt(r)).join(" / "),
    "ratio vs baseline": (median(list) / raw).toFixed(2),
  });
  console.log(
    `\n${ROUNDS} round(s), each from an empty database to the head (${fmt(head)} events, batches of ${BATCH}); same documents in all: ${counts[0]!.reduce((a, b) => a + b, 0)}`,
  );
  printTable([
    ...(UPSERT ? [row("diagnostic: raw bulkWrite, replaceOne upserts only", rates.upsert)] : []),
    row("baseline: raw bulkWrite, insertOne new ids, replaceOne known ids (no reads)", rates.insert),
    row("projector catch-up: read $all, getMany, evolve, guarded putIfNewer, checkpoint", rates.projector),
  ]);
  const ratio = median(rates.projector) / raw;
  console.log(`\ntarget: projector/raw >= 0.5 → measured ${ratio.toFixed(2)}: ${ratio >= 0.5 ? "reached" : "NOT reached"}`);
  console.log(`peak RSS of this process: ${fmt(memoryOf().peakMb, 1)} MB`);
} finally {
  for (const db of databases) await dropMongoDatabase(url!, db).catch((e: unknown) => console.error(`could not drop ${db}:`, e));
  await events.close();
  rmSync(dir, { recursive: true, force: true });
}
