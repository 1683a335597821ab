import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountStream } from "../../domain/events.ts";
import { formatMoney } from "../../domain/money.ts";
import { ADMIN_TOKEN, testApp, type TestApp } from "../../test/harness/platform.ts";

// Done-when: `asOf` at random instants equals a recomputation from the events. Commands run through
// the API on a clock the test controls; the oracle is the test's own ledger of accepted commands, and
// the account stream folded independently (balanceAfter of the last transaction at or before T).

const BASE = Date.UTC(2026, 2, 1);
let clock = BASE;
let t: TestApp;
let app: TestApp["app"];
let platform: TestApp["platform"];
beforeAll(async () => {
  t = await testApp({}, { now: () => new Date(clock).toISOString() });
  ({ app, platform } = t);
});
afterAll(() => t.close());

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const op = fc.record({
  gapMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3_600_000 })),
  kind: fc.constantFrom("payment", "credit", "debit", "adjustment", "usage"),
  micro: fc.integer({ min: 1, max: 20_000_000 }),
});

let run = 0;
describe("GET /billing/balance/:userId?asOf=T", () => {
  it("equals the sum of the accepted transactions at or before T, and the stream's own balanceAfter", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 10 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 6 }),
        async (ops, fractions) => {
          const userId = `asof-${run++}`;
          clock = BASE + run * 86_400_000;
          const start = clock;
          const ledger: { at: number; delta: number }[] = [];
          for (const [i, o] of ops.entries()) {
            clock += o.gapMs;
            const amount = formatMoney(o.micro);
            const [url, payload, delta] =
              i === 0 || o.kind === "payment"
                ? ["/billing/payment/process", { userId, amount }, o.micro]
                : o.kind === "usage"
                  ? [
                      "/billing/usage/track",
                      { userId, provider: "openai", model: "gpt-4o-mini", promptTokens: 10, completionTokens: 10, cost: amount },
                      -o.micro,
                    ]
                  : ([
                      "/billing/transaction",
                      { userId, type: o.kind, amount: o.kind === "adjustment" ? `-${amount}` : amount },
                      o.kind === "credit" ? o.micro : -o.micro,
                    ] as const);
            const res = await app.inject({ method: "POST", url, headers: admin, payload });
            if (res.statusCode === 201) ledger.push({ at: clock, delta });
            else expect(res.statusCode, res.body).toBe(422); // a debit beyond the balance
          }
          const stream = await platform.events.readStream(accountStream(userId));
          for (const f of fractions) {
            const at = Math.round(start - 1000 + f * (clock - start + 2000));
            const res = await app.inject({ url: `/billing/balance/${userId}?asOf=${new Date(at).toISOString()}`, headers: admin });
            expect(res.statusCode, res.body).toBe(200);
            const expected = ledger.filter((l) => l.at <= at).reduce((n, l) => n + l.delta, 0);
            expect(res.json().balance).toBe(formatMoney(expected));
            const last = stream.filter((e) => e.type === "transaction_created" && Date.parse(e.metadata.occurredAt) <= at).at(-1);
            expect(res.json().balance).toBe(formatMoney(last?.type === "transaction_created" ? last.data.balanceAfter : 0));
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it("is 404 for an unknown account", async () => {
    expect((await app.inject({ url: "/billing/balance/nobody?asOf=2026-01-01T00:00:00Z", headers: admin })).statusCode).toBe(404);
  });
});
