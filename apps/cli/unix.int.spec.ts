import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqliteEventStore } from "../../infra/sqlite/event-store.ts";
import { runCli, type CliRun } from "../../test/harness/cli.ts";
import { seedSynthetic } from "../../test/fixtures/synthetic.ts";

// Done-when: the CLI behaves as a Unix tool. A closed pipe ends it quietly; --out FILE writes what
// stdout gets, with no listener-leak warning over a long replay; --version; usage errors are one line
// and exit 2; a failed verification exits 1.

const BIN = resolve(import.meta.dirname, "bin.mjs");
const dir = mkdtempSync(join(tmpdir(), "cli-unix-"));
const env = { DATA_DIR: dir };
// 12 pages of the store replay (2,000 events each): more backpressure waits than EventEmitter's
// default limit of 10 listeners, so a listener left behind per wait shows up as a warning
const EVENTS = 24_000;

/** `aggregator ARGS | head -N` in bash; the CLI's own exit status and stderr (head writes none) */
function throughHead(args: string[], lines: number): Promise<CliRun> {
  const script = `"$0" "$@" | head -${lines}; exit "\${PIPESTATUS[0]}"`;
  return new Promise((done) => {
    const options = { env: { ...process.env, ...env, LOG_LEVEL: "silent" }, maxBuffer: 64 * 1024 * 1024 };
    execFile("bash", ["-c", script, process.execPath, BIN, ...args], options, (error, stdout, stderr) =>
      done({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

let full: string;
beforeAll(async () => {
  const store = openSqliteEventStore(join(dir, "events.db"));
  await seedSynthetic(store, { accounts: 12, eventsPerAccount: EVENTS / 12, chunk: 500 });
  await store.close();
  const run = await runCli(["replay"], env);
  expect(run.code, run.stderr).toBe(0);
  full = run.stdout;
  expect(full.split("\n").length - 1).toBe(EVENTS);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("aggregator as a Unix tool", () => {
  it("replay | head -1: the first line, then a quiet exit 141 (SIGPIPE status) with nothing on stderr", async () => {
    const ndjson = await throughHead(["replay"], 1);
    expect(ndjson.stderr).toBe("");
    expect(ndjson.code).toBe(141); // the pipe closed mid-stream: ~12 MB cannot fit a pipe's buffer
    expect(ndjson.stdout).toBe(`${full.split("\n")[0]}\n`);
    const csv = await throughHead(["replay", "--format", "csv"], 2);
    expect([csv.code, csv.stderr]).toEqual([141, ""]);
    expect(csv.stdout).toMatch(/^position,stream,revision,eventId.*\r\n1,account-user-0,0,/);
  });

  it("replay --out FILE writes exactly what stdout gets, without a MaxListenersExceededWarning", async () => {
    const file = join(dir, "replay.ndjson");
    const toFile = await runCli(["replay", "--out", file], env);
    expect(toFile.code).toBe(0);
    expect(toFile.stderr).toMatch(new RegExp(`^replayed ${EVENTS} events to ${file} in [\\d.]+ s\\n$`));
    expect(readFileSync(file, "utf8")).toBe(full);
    const piped = await runCli(["replay", "--format", "csv"], env);
    const csvFile = join(dir, "replay.csv");
    const csvToFile = await runCli(["replay", "--format", "csv", "--out", csvFile], env);
    for (const run of [piped, csvToFile])
      expect([run.code, run.stderr]).toEqual([0, expect.stringMatching(/^replayed \d+ events[^\n]*\n$/)]);
    expect(readFileSync(csvFile, "utf8")).toBe(piped.stdout);
    expect(piped.stdout.split("\r\n")).toHaveLength(EVENTS + 2); // header, rows, the empty rest after the last CRLF
  });

  it("audit export --out FILE equals its stdout (NDJSON and CSV)", async () => {
    for (const format of ["ndjson", "csv"]) {
      const file = join(dir, `export.${format}`);
      const [toStdout, toFile] = await Promise.all([
        runCli(["audit", "export", "--user", "user-3", "--format", format], env),
        runCli(["audit", "export", "--user", "user-3", "--format", format, "--out", file], env),
      ]);
      expect([toStdout.code, toFile.code, toFile.stderr]).toEqual([
        0,
        0,
        `exported ${EVENTS / 12} of ${EVENTS / 12} events of account user-3\n`,
      ]);
      expect(readFileSync(file, "utf8")).toBe(toStdout.stdout);
    }
  });

  it("--version prints package.json's version; --help and per-command help exit 0", async () => {
    const { version } = JSON.parse(readFileSync(resolve(import.meta.dirname, "../../package.json"), "utf8")) as { version: string };
    expect(await runCli(["--version"])).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
    const help = await runCli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/replay[\s\S]*projections[\s\S]*audit[\s\S]*Exit codes/);
    const replayHelp = await runCli(["replay", "--help"]);
    expect(replayHelp.code).toBe(0);
    for (const option of ["--source", "--from-time", "--from-position", "--types", "--user", "--format", "--out", "--follow"])
      expect(replayHelp.stdout).toContain(option);
    expect((await runCli(["audit", "export", "--help"])).stdout).toContain("--to <T2>");
  });

  it("usage errors exit 2 with one line on stderr and nothing on stdout", async () => {
    const cases = [
      [["frobnicate"], /^error: unknown command 'frobnicate'\n$/],
      [["replya"], /^error: unknown command 'replya' \(Did you mean replay\?\)\n$/],
      [["replay", "--nope"], /^error: unknown option '--nope'\n$/],
      [["replay", "--format", "xml"], /^error: option '--format <format>' argument 'xml' is invalid/],
      [["replay", "--from-time", "2026-01-01", "--from-position", "3"], /cannot be used with option '--from-position <P>'/],
      [["replay", "--limit", "ten"], /'--limit <N>' argument 'ten' is invalid\. Not a non-negative integer\.\n$/],
      [["replay", "--types", "ai_usage,nope"], /Unknown event type nope/],
      [["audit", "export"], /^error: required option '--user <U>' not specified\n$/],
      [["audit", "verify"], /^aggregator audit verify: audit verify needs --user U \(repeatable\) or --all\n$/],
      [["projections", "rebuild", "nope"], /^aggregator projections rebuild: unknown projection "nope"/],
    ] as const;
    for (const [args, message] of cases) {
      const run = await runCli([...args], env);
      expect({ args, code: run.code, stdout: run.stdout }).toEqual({ args, code: 2, stdout: "" });
      expect(run.stderr).toMatch(message);
      expect(run.stderr.trimEnd().split("\n"), run.stderr).toHaveLength(1);
    }
    const bare = await runCli([]); // no command: the help, on stderr, as a usage error
    expect([bare.code, bare.stdout]).toEqual([2, ""]);
    expect(bare.stderr).toContain("Usage: aggregator");
  });

  it("a verification that fails exits 1 (an account that does not exist); one that passes exits 0", async () => {
    const missing = await runCli(["audit", "verify", "--user", "user-1", "--user", "nobody"], env);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/^NOT FOUND account nobody/m);
    expect(missing.stdout).toMatch(/^FAILED: 1 account\(s\)/m);
    const ok = await runCli(["audit", "verify", "--user", "user-1"], env);
    expect(ok.code, ok.stdout).toBe(0);
    expect((await runCli(["audit", "export", "--user", "nobody"], env)).code).toBe(1);
  });
});
