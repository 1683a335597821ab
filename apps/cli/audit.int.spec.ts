import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqliteEventStore } from "../../infra/sqlite/event-store.ts";
import { openSqliteReadStore } from "../../infra/sqlite/read-store.ts";
import { reconcileAll } from "../../application/audit/reconcile.ts";
import { runCli } from "../../test/harness/cli.ts";
import { testApp } from "../../test/harness/platform.ts";
import { seedHistory } from "../../test/fixtures/seed.ts";

// Done-when: one byte of one event's data changed in a COPY of the SQLite store → `audit verify`
// names that account and event and exits non-zero; the untouched store exits 0.

let original: string;
let users: string[];
const copies: string[] = [];

beforeAll(async () => {
  const t = await testApp();
  users = await seedHistory(t, { accounts: 3, usage: 4, prefix: "aud" });
  await t.close(false); // keeps the files; closing checkpoints the WAL into them
  original = t.dataDir;
});
afterAll(() => {
  for (const dir of [original, ...copies]) rmSync(dir, { recursive: true, force: true });
});

function copyStore(): string {
  const dir = mkdtempSync(join(tmpdir(), "aggregator-tampered-"));
  cpSync(original, dir, { recursive: true });
  copies.push(dir);
  return dir;
}

interface Row {
  position: number;
  stream: string;
  event_id: string;
  data: string;
}

/** replaces the byte at `offset` of one event's data text (kept valid JSON) */
function tamper(dir: string, pick: (rows: Row[]) => { row: Row; offset: number; byte: string }) {
  const store = openSqliteEventStore(join(dir, "events.db"));
  try {
    const rows = store.db
      .prepare("SELECT position, stream, event_id, data FROM events WHERE stream LIKE 'account-%' ORDER BY position")
      .all() as Row[];
    const { row, offset, byte } = pick(rows);
    const data = row.data.slice(0, offset) + byte + row.data.slice(offset + 1);
    expect(data).not.toBe(row.data);
    store.db.prepare("UPDATE events SET data = ? WHERE position = ?").run(data, row.position);
    return { userId: row.stream.slice("account-".length), eventId: row.event_id };
  } finally {
    void store.close();
  }
}

describe("aggregator audit verify (CLI, SQLite copy)", () => {
  it("exits 0 on the untouched store", async () => {
    const run = await runCli(["audit", "verify", "--all"], { DATA_DIR: original });
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toMatch(/^OK: 3 account\(s\)/m);
  });

  it("names the account and the event whose amount lost or gained one digit, and exits 1", async () => {
    const dir = copyStore();
    const hit = tamper(dir, (rows) => {
      const row = rows.filter((r) => r.stream === "account-aud-1" && r.data.includes('"transactionId"'))[2]!;
      const offset = row.data.indexOf('"amount":') + '"amount":'.length + (row.data.includes('"amount":-') ? 1 : 0);
      return { row, offset, byte: row.data[offset] === "9" ? "1" : String(Number(row.data[offset]) + 1) };
    });
    const run = await runCli(["audit", "verify", "--all"], { DATA_DIR: dir });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toContain(`MISMATCH account ${hit.userId}`);
    expect(run.stdout).toContain(`event ${hit.eventId}`);
    expect(run.stdout).toContain("CHAIN.HASH_MISMATCH");
    expect(run.stdout).toContain("READ_MODEL.BALANCE_MISMATCH");
    for (const other of users.filter((u) => u !== hit.userId)) expect(run.stdout).not.toContain(`account ${other}:`);

    const one = await runCli(["audit", "verify", "--user", hit.userId, "--json"], { DATA_DIR: dir });
    expect(one.code).toBe(1);
    const report = JSON.parse(one.stdout);
    expect(report.mismatches[0].problems.find((p: { code: string }) => p.code === "CHAIN.HASH_MISMATCH").eventId).toBe(hit.eventId);
    expect((await runCli(["audit", "verify", "--user", users[0]!], { DATA_DIR: dir })).code).toBe(0);
  });

  it("any single changed letter or digit of any account event is named by the reconciliation", async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.nat(), fc.nat(), async (eventSeed, offsetSeed, byteSeed) => {
        const dir = copyStore();
        const hit = tamper(dir, (rows) => {
          const row = rows[eventSeed % rows.length]!;
          const candidates = [...row.data].flatMap((ch, i) => (/[A-Za-z0-9]/.test(ch) ? [i] : []));
          const offset = candidates[offsetSeed % candidates.length]!;
          const ch = row.data[offset]!;
          // digits stay 1-9 (never a leading zero), letters stay letters: the JSON stays valid
          const pool = /\d/.test(ch) ? "123456789" : "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
          const options = [...pool].filter((c) => c !== ch);
          return { row, offset, byte: options[byteSeed % options.length]! };
        });
        const events = openSqliteEventStore(join(dir, "events.db"));
        const reads = openSqliteReadStore(join(dir, "read.db"));
        try {
          const result = await reconcileAll(events, reads);
          expect(result.ok).toBe(false);
          const account = result.mismatches.find((m) => m.userId === hit.userId);
          expect(account?.problems.some((p) => p.eventId === hit.eventId && p.code === "CHAIN.HASH_MISMATCH")).toBe(true);
        } finally {
          await events.close();
          await reads.close();
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 15 },
    );
  });

  it("refuses a DATA_DIR without an event store instead of verifying nothing", async () => {
    const run = await runCli(["audit", "verify", "--all"], { DATA_DIR: join(original, "nope") });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("no event store at");
  });
});

describe("aggregator audit export", () => {
  it("writes one account's events in a half-open time window, as NDJSON or CSV", async () => {
    const events = openSqliteEventStore(join(original, "events.db"));
    const stream = await events.readStream(`account-${users[0]}`);
    await events.close();
    expect(stream.length).toBeGreaterThan(4);
    const from = stream[1]!.metadata.occurredAt;
    const to = stream.at(-1)!.metadata.occurredAt;
    const expected = stream.filter((e) => e.metadata.occurredAt >= from && e.metadata.occurredAt < to);
    expect(expected.length).toBeGreaterThan(0);
    const ndjson = await runCli(["audit", "export", "--user", users[0]!, "--from", from, "--to", to], { DATA_DIR: original });
    expect(ndjson.code, ndjson.stderr).toBe(0);
    const lines = ndjson.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { metadata: { eventId: string } });
    expect(lines.map((l) => l.metadata.eventId)).toEqual(expected.map((e) => e.metadata.eventId));
    expect(ndjson.stderr).toContain(`exported ${expected.length} of ${stream.length} events of account ${users[0]}`);
    const csv = await runCli(["audit", "export", "--user", users[0]!, "--format", "csv"], { DATA_DIR: original });
    const rows = csv.stdout.split("\r\n").filter(Boolean);
    expect(rows[0]).toMatch(/^position,stream,revision,eventId,type,occurredAt/);
    expect(rows).toHaveLength(stream.length + 1);
    const unknown = await runCli(["audit", "export", "--user", "nobody"], { DATA_DIR: original });
    expect([unknown.code, unknown.stderr.includes("account nobody not found")]).toEqual([1, true]);
  });
});
