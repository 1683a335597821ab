import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { pricesAt } from "../../domain/catalog.ts";
import { costOf, formatMoney, parseMoney } from "../../domain/money.ts";
import { loadCatalog } from "../../infra/catalog/load.ts";
import { freePort } from "../../test/harness/server.ts";

// Done-when: the README's first session works as pasted. Its bash blocks are parsed from README.md
// (nothing is copied here) and run, unchanged and in one bash, against a real `npm start` on a fresh
// DATA_DIR and free ports, with the environment of a new shell (no provider key: the upstream
// fixture answers). Every step's output is checked; a README command that stops working fails this.

const ROOT = resolve(import.meta.dirname, "../..");
const HEADING = "### A first session";

/** the fenced bash blocks under HEADING, in order, up to the next heading */
function sessionBlocks(markdown: string): string[] {
  const lines = markdown.split("\n");
  const at = lines.indexOf(HEADING);
  if (at < 0) throw new Error(`README.md has no "${HEADING}" heading`);
  const blocks: string[] = [];
  let block: string[] | undefined;
  for (const line of lines.slice(at + 1)) {
    if (block && line.startsWith("```")) {
      blocks.push(block.join("\n"));
      block = undefined;
    } else if (block) block.push(line);
    else if (line.startsWith("```bash")) block = [];
    else if (/^#{1,6} /.test(line)) break;
  }
  return blocks;
}

/** top-level commands: a command runs over lines until bash can parse it (continuations, if … fi) */
function commandsOf(blocks: string[]): string[] {
  const commands: string[] = [];
  let pending = "";
  for (const line of blocks.join("\n").split("\n")) {
    if (!pending && /^\s*(#.*)?$/.test(line)) continue;
    pending = pending ? `${pending}\n${line}` : line;
    if (!line.endsWith("\\") && spawnSync("bash", ["-n", "-c", pending]).status === 0) {
      commands.push(pending);
      pending = "";
    }
  }
  if (pending) throw new Error(`README command does not parse:\n${pending}`);
  return commands;
}

interface Step {
  command: string;
  output: string;
}

/** runs the commands in one bash; each one's output (stdout and stderr) is cut out by a marker printed before it */
async function runSession(commands: string[], env: NodeJS.ProcessEnv) {
  const script = ["exec 2>&1", ...commands.flatMap((command, i) => [`printf '\\n@@step ${i}@@\\n'`, command])].join("\n");
  // its own process group: whatever the session leaves running is found and ended afterwards
  const bash = spawn("bash", ["-c", script], { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "inherit"] });
  const group = bash.pid!;
  const killGroup = () => {
    try {
      process.kill(-group, "SIGKILL");
    } catch {
      /* nothing left */
    }
  };
  const stuck = setTimeout(killGroup, 240_000); // a session that hangs fails with its output so far
  let output = "";
  bash.stdout.on("data", (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((done) => bash.on("close", done));
  clearTimeout(stuck);
  const parts = output.split(/\n@@step \d+@@\n/);
  const steps: Step[] = commands.map((command, i) => ({ command, output: (parts[i + 1] ?? "").trim() }));
  return { code, output, steps, killGroup };
}

const listening = (url: string) =>
  fetch(url).then(
    () => true,
    () => false,
  );

const dataDir = mkdtempSync(join(tmpdir(), "readme-session-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe("README: a first session", () => {
  it("runs as pasted: a key, a top-up, a gateway call charged at the catalog price, history, audit and replay", async () => {
    const blocks = sessionBlocks(readFileSync(join(ROOT, "README.md"), "utf8"));
    expect(blocks.length).toBeGreaterThan(0);
    const commands = commandsOf(blocks);
    const [port, fixturePort] = [await freePort(), await freePort()];
    // a new user's shell: no provider keys, no engines, no project bins on the PATH
    const PATH = (process.env.PATH ?? "")
      .split(delimiter)
      .filter((p) => !p.includes("node_modules"))
      .join(delimiter);
    const env = {
      PATH,
      HOME: process.env.HOME,
      TMPDIR: process.env.TMPDIR,
      PORT: String(port),
      DATA_DIR: dataDir,
      FIXTURE_PORT: String(fixturePort),
    };
    const session = await runSession(commands, env);
    try {
      expect(session.code, session.output).toBe(0);
      const steps = session.steps;
      for (const { command, output } of steps)
        expect(output, command).not.toMatch(/undefined|command not found|No such file|curl: \(|Error/);
      const step = (pattern: RegExp, nth = 0) => {
        const found = steps.filter((s) => pattern.test(s.command))[nth];
        if (!found) throw new Error(`no README step #${nth + 1} matching ${pattern}; steps:\n${steps.map((s) => s.command).join("\n")}`);
        return found.output;
      };
      const json = (pattern: RegExp, nth = 0) => JSON.parse(step(pattern, nth)) as Record<string, unknown>;

      expect(json(/--retry.*\/ready/)).toMatchObject({ status: "ready" });
      expect(step(/grep -o 'admin token/)).toBe(`admin token is in ${join(dataDir, "admin-token")}`);
      expect(step(/echo "\$KEY"/)).toMatch(/^aia_[A-Za-z0-9_-]{20,}$/);
      expect(json(/payment\/process/)).toMatchObject({ userId: "alice", amount: "25", balance: "25" });
      expect(json(/billing\/balance\/alice/, 0)).toMatchObject({ userId: "alice", balance: "25", held: "0" });
      expect(step(/v1\/chat\/completions/)).toBe("Hello from fixture");

      // the fixture reports 12 prompt and 3 completion tokens: the charge is the catalog's price for them
      const charge = costOf(12, 3, pricesAt(loadCatalog(), "gpt-4o-mini", new Date().toISOString(), "openai")!);
      expect(charge).toBeGreaterThan(0);
      const after = formatMoney(parseMoney("25") - charge);
      expect(json(/billing\/balance\/alice/, 1)).toMatchObject({ balance: after, held: "0", available: after });
      const history = json(/billing\/transactions\/alice/) as { items: Array<{ type: string; amount: string; balanceAfter: string }> };
      expect(history.items.map(({ type, amount, balanceAfter }) => ({ type, amount, balanceAfter }))).toEqual([
        { type: "usage", amount: formatMoney(-charge), balanceAfter: after },
        { type: "payment", amount: "25", balanceAfter: "25" },
      ]);
      const totals = { requests: 1, promptTokens: 12, completionTokens: 3, tokens: 15, cost: formatMoney(charge) };
      expect(json(/billing\/report\/alice/)).toMatchObject({ totals });

      // the README stops the server before the CLI runs: nothing may still listen
      expect(await listening(`http://127.0.0.1:${port}/health`)).toBe(false);
      expect(await listening(`http://127.0.0.1:${fixturePort}/`)).toBe(false);
      expect(step(/aggregator audit verify --user alice/)).toMatch(
        /^OK: 1 account\(s\), \d+ account events up to position \d+, 0 disagree$/m,
      );
      const replayed = step(/aggregator replay --user alice --types ai_usage/);
      expect(replayed).toMatch(/^replayed 1 events in [\d.]+ s$/m);
      const lines = replayed.split("\n").filter((line) => line.startsWith("{"));
      expect(lines).toHaveLength(1);
      const usage = { userId: "alice", model: "gpt-4o-mini", promptTokens: 12, completionTokens: 3, cost: charge };
      expect(JSON.parse(lines[0]!)).toMatchObject({ type: "ai_usage", data: usage });
    } finally {
      session.killGroup();
    }
  }, 300_000);
});
