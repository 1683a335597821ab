import { describe, expect, it } from "vitest";
import { accountStream, type RecordedEvent } from "../../domain/events.ts";
import { chain } from "../../domain/hash-chain.ts";
import type { BalanceDoc } from "../../projections/balances.ts";
import { syntheticAccount } from "../../test/fixtures/synthetic.ts";
import { accountAuditor } from "./account-auditor.ts";

const recorded = (userId: string, n: number): RecordedEvent[] =>
  syntheticAccount(userId, n, Date.UTC(2026, 0, 1)).map(
    (e, i) => ({ ...e, streamName: accountStream(userId), revision: i, position: 10 + i * 2 }) as RecordedEvent,
  );

const fold = (events: RecordedEvent[]) => {
  let balance = 0,
    held = 0,
    transactions = 0;
  for (const e of events) {
    if (e.type === "transaction_created") {
      balance += e.data.amount;
      transactions++;
    }
    if (e.type === "usage_reserved") held += e.data.amount;
    if (e.type === "usage_released") held -= e.data.amount;
  }
  return { balance, held, transactions };
};
const docAt = (userId: string, events: RecordedEvent[]): BalanceDoc => ({
  _id: userId,
  _position: events.at(-1)!.position,
  userId,
  currency: "USD",
  updatedAt: "",
  ...fold(events),
});

function audit(events: RecordedEvent[], doc: BalanceDoc | null, projected?: number) {
  const a = accountAuditor("u1", doc, projected);
  events.forEach((e) => a.apply(e));
  return a.finish();
}

describe("accountAuditor", () => {
  const events = recorded("u1", 23);

  it("accepts an untouched stream whose read model matches", () => {
    expect(audit(events, docAt("u1", events))).toMatchObject({ ok: true, events: 23, lastRevision: 22, problems: [], lagging: false });
  });

  it("names each altered event once, not every event after it", () => {
    const altered = events.map((e, i) => (i === 5 || i === 14 ? ({ ...e, data: { ...e.data, requestId: "forged" } } as RecordedEvent) : e));
    const result = audit(altered, docAt("u1", events));
    expect(result.problems.map((p) => [p.code, p.revision])).toEqual([
      ["CHAIN.HASH_MISMATCH", 5],
      ["CHAIN.HASH_MISMATCH", 14],
    ]);
  });

  it("reports a removed event as a gap and a broken link, and a changed amount in the ledger", () => {
    const removed = audit([...events.slice(0, 7), ...events.slice(8)], docAt("u1", events));
    expect(removed.problems.map((p) => p.code)).toEqual(expect.arrayContaining(["STREAM.REVISION_GAP", "CHAIN.BROKEN_LINK"]));
    const tx = events.findIndex((e, i) => i > 3 && e.type === "transaction_created");
    const forged = events.map((e, i) =>
      i === tx && e.type === "transaction_created" ? ({ ...e, data: { ...e.data, amount: e.data.amount - 1 } } as RecordedEvent) : e,
    );
    const codes = audit(forged, docAt("u1", events)).problems.map((p) => p.code);
    expect(codes).toEqual(["CHAIN.HASH_MISMATCH", "LEDGER.BALANCE_AFTER_MISMATCH", "READ_MODEL.BALANCE_MISMATCH"]);
  });

  it("re-hashed forgeries still break the link to the next event", () => {
    const [forged] = chain(events[2]!.metadata.hash!, [
      { ...events[3]!, data: { ...events[3]!.data, model: "forged" } },
    ] as never) as unknown as RecordedEvent[];
    const result = audit(
      events.map((e, i) => (i === 3 ? ({ ...e, data: forged!.data, metadata: forged!.metadata } as RecordedEvent) : e)),
      null,
      0,
    );
    expect(result.problems.map((p) => [p.code, p.revision])).toEqual([["CHAIN.BROKEN_LINK", 4]]);
  });

  it("compares the read model at its own position: lag is not a mismatch", () => {
    const behind = docAt("u1", events.slice(0, 11));
    expect(audit(events, behind)).toMatchObject({ ok: true, lagging: true, readModel: { position: behind._position } });
    expect(audit(events, { ...behind, balance: behind.balance + 1 }).problems.map((p) => p.code)).toEqual(["READ_MODEL.BALANCE_MISMATCH"]);
  });

  it("tells a missing read model from one not projected yet, and flags orphans", () => {
    expect(audit(events, null, 0)).toMatchObject({ ok: true, lagging: true });
    expect(audit(events, null, 1000).problems.map((p) => p.code)).toEqual(["READ_MODEL.MISSING"]);
    expect(audit([], docAt("u1", events)).problems.map((p) => p.code)).toContain("READ_MODEL.ORPHAN");
  });
});
