import { parseArgs } from "node:util";
import { accountStream } from "../../domain/events.ts";
import { formatMoney } from "../../domain/money.ts";
import type { AccountAudit } from "../shared/account-auditor.ts";
import { csvHeader, formatPage, type ReplayFormat } from "../shared/event-format.ts";
import { auditJson, reconcileAll, verifyAccount, type Reconciliation } from "../shared/reconcile.ts";
import { eventMatcher } from "../shared/replay.ts";
import { CliError, config, eventStore, EXIT, openOutput, parseInstant, readStore } from "./io.ts";
import { createProgress } from "./progress.ts";

export const AUDIT_HELP = `aggregator audit: verifiable history

  audit verify --user U [--user V...] | --all [--json]
      recompute each account's hash chain and ledger from its events and compare the balances read model
      with that fold; prints every account and event that disagrees; exit 1 on any mismatch, 0 when all agree.
      Read models that have not caught up yet are reported as lag, not as a mismatch.
  audit export --user U [--from T1] [--to T2] [--format csv|ndjson] [--out FILE]
      the account stream in revision order (occurredAt in [T1, T2)), with ids, actors and hashes.`;

const where = (p: AccountAudit["problems"][number]) =>
  p.eventId ? `event ${p.eventId} (${p.type}, revision ${p.revision}, position ${p.position}): ` : "";

function printAccount(a: AccountAudit) {
  process.stdout.write(`MISMATCH account ${a.userId}: ${a.problems.length} problem(s)\n`);
  for (const p of a.problems) process.stdout.write(`  ${where(p)}${p.code}: ${p.detail}\n`);
}

async function verify(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { user: { type: "string", multiple: true }, all: { type: "boolean", default: false }, json: { type: "boolean", default: false } },
    strict: true,
  });
  const users = values.user ?? [];
  if (values.all === users.length > 0) throw new CliError("audit verify needs --user U (repeatable) or --all");
  const cfg = config();
  const events = await eventStore(cfg);
  const reads = await readStore(cfg);
  try {
    let result: Reconciliation;
    const missing: string[] = [];
    if (values.all) {
      const progress = createProgress("verify");
      result = await reconcileAll(events, reads, { onProgress: (p) => progress.update(p.position, p.head) });
      progress.stop();
    } else {
      const audits: AccountAudit[] = [];
      for (const user of users) {
        const audit = await verifyAccount(events, reads, user);
        if (audit) audits.push(audit);
        else missing.push(user);
      }
      const mismatches = audits.filter((a) => !a.ok);
      const counted = audits.reduce((n, a) => n + a.events, 0);
      result = { ok: mismatches.length === 0, accounts: audits.length, events: counted, headPosition: await events.headPosition(), lagging: audits.filter((a) => a.lagging).length, mismatches };
    }
    const ok = result.ok && missing.length === 0;
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ ...result, ok, notFound: missing, mismatches: result.mismatches.map((a) => auditJson(a, formatMoney)) }, null, 2)}\n`);
    } else {
      for (const user of missing) process.stdout.write(`NOT FOUND account ${user}: no events and no balance document\n`);
      result.mismatches.forEach(printAccount);
      const lag = result.lagging > 0 ? `; ${result.lagging} account(s) not projected up to their latest event yet (lag, compared at the read model's position)` : "";
      process.stdout.write(`${ok ? "OK" : "FAILED"}: ${result.accounts} account(s), ${result.events} account events up to position ${result.headPosition}, ${result.mismatches.length} disagree${lag}\n`);
    }
    return ok ? EXIT.ok : EXIT.mismatch;
  } finally {
    await events.close();
    await reads.close();
  }
}

async function exportAccount(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { user: { type: "string" }, from: { type: "string" }, to: { type: "string" }, format: { type: "string", default: "ndjson" }, out: { type: "string" } },
    strict: true,
  });
  if (!values.user) throw new CliError("audit export needs --user U");
  if (values.format !== "ndjson" && values.format !== "csv") throw new CliError(`--format must be csv or ndjson, not "${values.format}"`);
  const matches = eventMatcher({ from: parseInstant("--from", values.from), to: parseInstant("--to", values.to) });
  const events = await eventStore(config());
  try {
    const stream = await events.readStream(accountStream(values.user));
    if (stream.length === 0) throw new CliError(`account ${values.user} not found`, EXIT.mismatch);
    const selected = stream.filter(matches);
    const out = openOutput(values.out);
    if (values.format === "csv") await out.write(csvHeader());
    await out.write(formatPage(selected, values.format as ReplayFormat));
    await out.close();
    process.stderr.write(`exported ${selected.length} of ${stream.length} events of account ${values.user}\n`);
    return EXIT.ok;
  } finally {
    await events.close();
  }
}

export async function auditCommand(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action === "verify") return verify(rest);
  if (action === "export") return exportAccount(rest);
  throw new CliError(`unknown audit action "${action ?? ""}"\n\n${AUDIT_HELP}`);
}
