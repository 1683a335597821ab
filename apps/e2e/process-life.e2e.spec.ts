import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../test/harness/server.ts";

// README "Commands": `npm start` is `exec node dist/main.js`, so npm's child is the server itself (no
// shell, no loader process in between); a SIGTERM or SIGINT sent to the npm process — what a process
// manager or Ctrl-C in a terminal does — reaches the server through npm, which shuts down cleanly, and
// npm exits with it. Nothing of it is left: every process under npm, found by pid in /proc, is gone (there
// is one: the server; the projector and the relay run in a thread of it).

const ROOT = resolve(import.meta.dirname, "../..");
/** the server's own grace period (apps/main.ts closes lingering connections after 10 s), plus closing */
const GRACE_MS = 15_000;

/** pid → parent pid of every process on the machine (Linux /proc) */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // the command name in parentheses may hold spaces: the fields after its closing ") " are fixed
      const fields = readFileSync(`/proc/${name}/stat`, "utf8").split(") ")[1]!.split(" ");
      map.set(Number(name), Number(fields[1]));
    } catch {
      /* exited meanwhile */
    }
  }
  return map;
}

function descendantsOf(pid: number): number[] {
  const map = parents();
  const found: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of map) {
      if (parent !== p) continue;
      found.push(child);
      walk(child);
    }
  };
  walk(pid);
  return found;
}

/** still there and not a zombie waiting to be reaped */
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));

describe("npm start: process life", () => {
  const dir = mkdtempSync(join(tmpdir(), "process-life-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(["SIGTERM", "SIGINT"] as const)("%s to the npm process stops the server and leaves no process behind", async (signal) => {
    const port = await freePort();
    const npm = spawn("npm", ["start"], {
      cwd: ROOT,
      env: { ...process.env, DATA_DIR: join(dir, signal), PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    npm.stdout.on("data", (d) => (output += d));
    npm.stderr.on("data", (d) => (output += d));
    const exited = once(npm, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
    let tree: number[] = [];
    try {
      while (
        !(await fetch(`http://127.0.0.1:${port}/ready`).then(
          (r) => r.ok,
          () => false,
        ))
      ) {
        if (npm.exitCode !== null) throw new Error(`npm start exited ${npm.exitCode}:\n${output}`);
        await sleep(50);
      }
      tree = descendantsOf(npm.pid!);
      // npm's child is the server, and it has none: its projector and relay are a worker thread of it
      expect(tree.length, "npm start has one child: the server").toBe(1);

      npm.kill(signal);
      const outcome = await Promise.race([exited, sleep(GRACE_MS).then(() => "still running" as const)]);
      expect(outcome, output).toEqual([0, null]); // npm ends, with the server's exit code
      const logged = output
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(logged, output).toContainEqual(expect.objectContaining({ signal, msg: "shutting down" })); // the server's own clean shutdown ran
      for (let i = 0; i < 50 && tree.some(alive); i++) await sleep(100); // the server's exit is reaped by npm just before npm ends
      expect(tree.filter(alive), "processes of npm start left running").toEqual([]);
      expect(
        await fetch(`http://127.0.0.1:${port}/health`).then(
          (r) => r.status,
          () => "refused",
        ),
      ).toBe("refused");
    } finally {
      for (const pid of [npm.pid!, ...tree].filter(alive)) process.kill(pid, "SIGKILL");
    }
  });
});
