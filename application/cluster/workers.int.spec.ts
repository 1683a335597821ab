import { describe, expect, it } from "vitest";
import { createMemoryEventStore } from "../../infra/memory/event-store.ts";
import { createMemoryReadStore } from "../../infra/memory/read-store.ts";
import { readCheckpoint } from "../../projections/checkpoints.ts";
import { allProjections } from "../../projections/index.ts";
import { startProjector } from "../../projections/projector-handle.ts";
import { accountStream } from "../../domain/events.ts";
import { syntheticAccount } from "../../test/fixtures/synthetic.ts";
import { startHoldSweeper } from "../gateway/hold-sweeper.ts";
import type { Platform } from "../platform.ts";
import { leased } from "./lease.ts";

// README "Many instances": the projector and the hold sweeper run under a lease, so of the processes
// that run them one is active and the others stand by; a standby takes over when the active one stops.
// (A holder killed outright is taken over once its lease expires: test/contracts/coordination.contract.ts,
// and across processes with kill -9 in apps/e2e/cluster.e2e.spec.ts.)
const FAST = { ttlMs: 400, renewMs: 100, retryMs: 50 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("one active worker per lease", () => {
  it("two projectors on one store: one projects, the standby follows its checkpoint, then takes over when it stops", async () => {
    const events = createMemoryEventStore();
    const reads = createMemoryReadStore();
    const active: number[] = [];
    const projector = (i: number) =>
      startProjector(
        events,
        reads,
        allProjections,
        (e) => {
          throw e;
        },
        leased(reads, { ...FAST, name: "projector", onChange: (held) => held && active.push(i) }),
      );
    const [a, b] = [await projector(0), await projector(1)];
    const first = syntheticAccount("u1", 40, Date.parse("2026-01-01T00:00:00Z"));
    await events.append(accountStream("u1"), first, "no_stream");
    expect(await a.waitFor(40, 5000)).toBe(true);
    expect(await b.waitFor(40, 5000)).toBe(true); // the standby's queries see the active one's progress
    expect(active).toHaveLength(1);

    const [holder, standby] = active[0] === 0 ? [a, b] : [b, a];
    await holder.stop();
    const more = syntheticAccount("u2", 40, Date.parse("2026-01-01T00:00:00Z"));
    await events.append(accountStream("u2"), more, "no_stream");
    expect(await standby.waitFor(80, 5000)).toBe(true);
    expect(active).toEqual([active[0], 1 - active[0]!]);
    expect(await readCheckpoint(reads)).toBe(80);
    await standby.stop();
  });

  it("two hold sweepers on one store: one sweeps, the other stands by until the first stops", async () => {
    const reads = createMemoryReadStore();
    const platform = { reads, now: () => new Date().toISOString() } as unknown as Platform;
    const sweepers = [0, 1].map(() =>
      startHoldSweeper(platform, { intervalMs: 60_000, lease: leased(reads, { ...FAST, name: "hold-sweeper" }) }),
    );
    for (let i = 0; i < 100 && !sweepers.some((s) => s.active()); i++) await sleep(20);
    await sleep(300);
    expect(sweepers.map((s) => s.active()).sort()).toEqual([false, true]);
    const [holder, standby] = sweepers[0]!.active() ? sweepers : [sweepers[1]!, sweepers[0]!];
    await holder!.stop();
    for (let i = 0; i < 100 && !standby!.active(); i++) await sleep(20);
    expect(standby!.active()).toBe(true);
    await standby!.stop();
  });
});
