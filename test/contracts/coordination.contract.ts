// What several instances sharing one read store rely on (application/cluster/): a versioned chain is a
// compare-and-set exactly one writer wins, and a lease runs one worker at a time, handed over when its
// holder stops or dies. Each factory call gives several stores on ONE backend (separate connections
// where the engine has them), standing for separate instances.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { leased, LEASES } from "../../application/cluster/lease.ts";
import { versioned, type VersionDoc } from "../../application/cluster/versioned.ts";
import type { ReadStore } from "../../projections/read-store.ts";

type Factory = (instances: number) => Promise<{ stores: ReadStore[]; cleanup: () => Promise<void> }>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function coordinationContract(name: string, factory: Factory): void {
  describe(`coordination on one read store: ${name}`, () => {
    let stores: ReadStore[], cleanup: () => Promise<void>;
    beforeEach(async () => ({ stores, cleanup } = await factory(3)));
    afterEach(async () => cleanup());

    it("a versioned chain: concurrent compare-and-set increments from every instance lose no update", async () => {
      const chains = stores.map((s) => versioned<{ n: number }>(s.collection<VersionDoc<{ n: number }>>("chains"), "counter"));
      let applied = 0;
      await Promise.all(
        chains.flatMap((chain) =>
          Array.from({ length: 10 }, async () => {
            for (let base = await chain.latest(); ; base = await chain.latest()) {
              if (await chain.write(base, { n: (base?.state.n ?? 0) + 1 })) return void applied++;
            }
          }),
        ),
      );
      const latest = await chains[0]!.latest();
      expect(applied).toBe(30);
      expect(latest).toMatchObject({ v: 30, state: { n: 30 } });
      expect(await chains[1]!.write({ ...latest!, v: 29 }, { n: -1 })).toBeNull(); // version 30 exists: lost
    });

    it("a lease runs one worker at a time; a graceful stop hands it over; a dead holder is replaced after its expiry", async () => {
      const opts = { name: "worker", ttlMs: 400, renewMs: 100, retryMs: 50 };
      let active = 0,
        most = 0;
      const ran: number[] = [];
      const controllers = stores.map(() => new AbortController());
      const runs = stores.map((store, i) =>
        leased(store, opts)(async (signal) => {
          ran.push(i);
          most = Math.max(most, ++active);
          await new Promise((r) => signal.addEventListener("abort", r, { once: true }));
          active--;
        }, controllers[i]!.signal),
      );
      await sleep(600);
      expect([ran.length, active, most]).toEqual([1, 1, 1]);
      const first = ran[0]!;
      controllers[first]!.abort(); // graceful: the lease is given back
      await runs[first];
      for (let i = 0; i < 100 && ran.length < 2; i++) await sleep(20);
      expect(ran.length).toBe(2);
      expect(most).toBe(1);

      // a holder that died: its last renewal stands until it expires, nobody else runs before
      for (const c of controllers) c.abort();
      await Promise.all(runs);
      const leases = stores[0]!.collection<VersionDoc<{ holder: string; expiresAt: number }>>(LEASES);
      const [latest] = await leases.find({ chain: "worker" }, { sort: { v: -1 }, limit: 1 });
      const expiresAt = Date.now() + 500;
      await leases.insertIfAbsent({
        ...latest!,
        _id: `worker:${latest!.v + 1}`,
        _position: latest!.v + 1,
        v: latest!.v + 1,
        state: { holder: "dead", expiresAt },
      });
      const standby = new AbortController();
      let tookOverAt = 0;
      const run = leased(stores[1]!, opts)(async (signal) => {
        tookOverAt = Date.now();
        await new Promise((r) => signal.addEventListener("abort", r, { once: true }));
      }, standby.signal);
      for (let i = 0; i < 200 && tookOverAt === 0; i++) await sleep(20);
      standby.abort();
      await run;
      expect(tookOverAt).toBeGreaterThanOrEqual(expiresAt);
      console.info(`${name}: a dead holder's lease taken over ${tookOverAt - expiresAt} ms after its expiry`);
    });
  });
}
