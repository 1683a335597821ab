import { Option, type Command } from "commander";
import { accountStream } from "../../domain/events.ts";
import { formatMoney } from "../../domain/money.ts";
import type { AccountAudit } from "../../application/audit/account-auditor.ts";
import { csvHeader, formatPage, type ReplayFormat } from "../../application/replay/event-format.ts";
import { auditJson, reconcileAll, verifyAccount, type Reconciliation } from "../../application/audit/reconcile.ts";
import { eventMatcher } from "../../application/replay/replay.ts";
import { TOKENS } from "../composition/container.ts";
import { CliError, eventStore, EXIT, instant, openRoot, writeOutput, type Run } from "./io.ts";
import { createProgress } from "./progress.ts";

const where = (p: AccountAudit["problems"][number]) =>
  p.eventId ? `event ${p.eventId} (${p.type}, revision ${p.revision}, position ${p.position}): ` : "";

function printAccount(a: AccountAudit) {
  process.stdout.write(`MISMATCH account ${a.userId}: ${a.problems.length} problem(s)\n`);
  for (const p of a.problems) process.stdout.write(`  ${where(p)}${p.code}: ${p.detail}\n`);
}

interface VerifyOptions {
  user?: string[];
  all?: boolean;
  json?: boolean;
}

async function verify(values: VerifyOptions): Promise<number> {
  const users = values.user ?? [];
  if ((values.all === true) === users.length > 0) throw new CliError("audit verify needs --user U (repeatable) or --all");
  const root = openRoot();
  try {
    const events = await eventStore(root);
    const reads = await root.resolve(TOKENS.reads);
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
      result = {
        ok: mismatches.length === 0,
        accounts: audits.length,
        events: counted,
        headPosition: await events.headPosition(),
        lagging: audits.filter((a) => a.lagging).length,
        mismatches,
      };
    }
    const ok = result.ok && missing.length === 0;
    if (values.json) {
      process.stdout.write(
        `${JSON.stringify({ ...result, ok, notFound: missing, mismatches: result.mismatches.map((a) => auditJson(a, formatMoney)) }, null, 2)}\n`,
      );
    } else {
      for (const user of missing) process.stdout.write(`NOT FOUND account ${user}: no events and no balance document\n`);
      result.mismatches.forEach(printAccount);
      const lag =
        result.lagging > 0
          ? `; ${result.lagging} account(s) not projected up to their latest event yet (lag, compared at the read model's position)`
          : "";
      process.stdout.write(
        `${ok ? "OK" : "FAILED"}: ${result.accounts} account(s), ${result.events} account events up to position ${result.headPosition}, ${result.mismatches.length} disagree${lag}\n`,
      );
    }
    return ok ? EXIT.ok : EXIT.mismatch;
  } finally {
    await root.close();
  }
}

interface ExportOptions {
  user: string;
  from?: string;
  to?: string;
  format: ReplayFormat;
  out?: string;
}

async function exportAccount(values: ExportOptions): Promise<number> {
  const matches = eventMatcher({ from: values.from, to: values.to });
  const root = openRoot();
  try {
    const events = await eventStore(root);
    const stream = await events.readStream(accountStream(values.user));
    if (stream.length === 0) throw new CliError(`account ${values.user} not found`, EXIT.mismatch);
    const selected = stream.filter(matches);
    const header = values.format === "csv" ? [csvHeader()] : [];
    await writeOutput([...header, formatPage(selected, values.format)], values.out);
    process.stderr.write(`exported ${selected.length} of ${stream.length} events of account ${values.user}\n`);
    return EXIT.ok;
  } finally {
    await root.close();
  }
}

export function auditCommand(program: Command, run: Run) {
  const audit = program.command("audit").description("verify hash chains and balances; export an account's history");
  audit
    .command("verify")
    .summary("recompute hash chains and ledgers; compare them with the balances read model")
    .description(
      "Recompute each account's hash chain and ledger from its events and compare the balances read model with that fold; " +
        "print every account and event that disagrees; exit 1 on any mismatch, 0 when all agree. " +
        "Read models that have not caught up yet are reported as lag, not as a mismatch.",
    )
    .option("--user <U>", "an account to verify (repeatable)", (user: string, users: string[] = []) => [...users, user])
    .option("--all", "every account")
    .option("--json", "the report as JSON")
    .action((options: VerifyOptions) => run(() => verify(options)));
  audit
    .command("export")
    .summary("one account's events, in revision order, as NDJSON or CSV")
    .description("Write the account stream in revision order (occurredAt in [T1, T2)), with ids, actors and hashes.")
    .requiredOption("--user <U>", "the account")
    .addOption(new Option("--from <T1>", "occurredAt >= T1 (ISO-8601 or epoch ms)").argParser(instant))
    .addOption(new Option("--to <T2>", "occurredAt < T2").argParser(instant))
    .addOption(new Option("--format <format>", "line format").choices(["ndjson", "csv"]).default("ndjson"))
    .option("--out <FILE>", "write to FILE instead of stdout")
    .action((options: ExportOptions) => run(() => exportAccount(options)));
}
