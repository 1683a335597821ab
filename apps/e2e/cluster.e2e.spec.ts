// The cluster (README "Many instances"): 3 API processes (`npm start`, RUN_PROJECTOR=false) + 2 projector
// processes (one active, one standby under the projector lease) + 1 relay, on EVENT_STORE=postgres,
// READ_STORE=mongo (FerretDB) and Kafka; requests go round-robin over the three APIs; the upstream is the
// local fixture (test/fixtures/upstream-fixture.ts). Fails (never skips) when REQUIRE_ENGINES names an
// engine that is missing.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI, { APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RELAYED_EVENT_TYPES, type RecordedEvent } from "../../domain/events.ts";
import type { EventStore } from "../../domain/event-store.ts";
import { formatMoney, parseMoney } from "../../domain/money.ts";
import { readTopic } from "../../infra/kafka/consumer.ts";
import { openMongoReadStore } from "../../infra/mongo/read-store.ts";
import { openPostgresEventStore } from "../../infra/postgres/event-store.ts";
import type { ReadStore } from "../../projections/read-store.ts";
import { dropMongoDatabase } from "../../test/engines/raw-clients.ts";
import { deleteTopic } from "../../test/engines/raw-kafka-read.ts";
import { createPostgresDatabase, dropPostgresDatabase } from "../../test/engines/raw-postgres.ts";
import { engineUrl } from "../../test/engines/require-engine.ts";
import { startUpstreamFixture, type UpstreamFixture } from "../../test/fixtures/upstream-fixture.ts";
import { dumpReadModels, projectToHead } from "../../test/harness/read-models.ts";
import { startServer } from "../../test/harness/server.ts";
import { startWorker, type Worker } from "../../test/harness/worker.ts";
import { AUTH_CACHE_TTL_MS } from "../api/auth.ts";

const postgresUrl = engineUrl("postgres", "POSTGRES_URL");
const mongoUrl = engineUrl("mongo", "MONGO_URL");
const brokerList = engineUrl("kafka", "KAFKA_BROKERS");
const ADMIN = "cluster-e2e-admin-token-0123456789";
const RUN = randomUUID().slice(0, 8);
const MONGO_DB = `cluster_${RUN}`;
const TOPIC = `cluster-${RUN}`;
const ask = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "count me" }], max_tokens: 1000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Api = Awaited<ReturnType<typeof startServer>>;

describe.skipIf(!postgresUrl || !mongoUrl || !brokerList)(
  "a cluster: 3 APIs, 2 projectors, 1 relay on PostgreSQL + FerretDB + Kafka",
  () => {
    let pgDb: { name: string; url: string };
    let fixture: UpstreamFixture;
    let gate: Promise<void> = Promise.resolve();
    const apis: Api[] = [];
    const projectors: Worker[] = [];
    let relay: Worker;
    const dirs: string[] = [];
    let next = 0;
    /** the next API, round-robin, skipping any that was killed */
    const dead = new Set<Api>();
    const nextApi = () => {
      for (;;) {
        const api = apis[next++ % apis.length]!;
        if (!dead.has(api)) return api;
      }
    };

    const admin = async (api: Api, method: string, path: string, body?: unknown) => {
      const res = await fetch(api.url + path, {
        method,
        headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, unknown> };
    };
    const mintKey = async (userId: string, name: string, limits?: object) => {
      const r = await admin(nextApi(), "POST", "/auth/api-keys", { userId, name, ...(limits ? { limits } : {}) });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body as { id: string; key: string };
    };
    const client = (api: Api, key: string) => new OpenAI({ apiKey: key, baseURL: `${api.url}/v1`, maxRetries: 0 });
    const statusOf = (o: PromiseSettledResult<unknown>) =>
      o.status === "fulfilled" ? 200 : o.reason instanceof APIError ? (o.reason.status ?? -1) : -1;
    /** balance and held amount from the account stream (no projection lag) */
    const ledger = async (events: EventStore, userId: string) => {
      let balance = 0;
      const holds = new Map<string, number>();
      for (const e of await events.readStream(`account-${userId}`)) {
        if (e.type === "transaction_created") balance += e.data.amount;
        if (e.type === "usage_reserved") holds.set(e.data.reservationId, e.data.amount);
        if (e.type === "usage_released") holds.delete(e.data.reservationId);
      }
      return { balance, held: [...holds.values()].reduce((a, b) => a + b, 0) };
    };
    let events: EventStore;

    beforeAll(async () => {
      pgDb = await createPostgresDatabase(postgresUrl!, `cluster_${RUN}`);
      fixture = await startUpstreamFixture(() => ({ gate, usage: { prompt_tokens: 15, completion_tokens: 1000 } }), { record: false });
      const env = {
        ADMIN_TOKEN: ADMIN,
        EVENT_STORE: "postgres",
        POSTGRES_URL: pgDb.url,
        READ_STORE: "mongo",
        MONGO_URL: mongoUrl!,
        MONGO_DB,
        OPENAI_BASE_URL: fixture.baseUrl("openai"),
        OPENAI_API_KEY: "sk-fixture-cluster",
      };
      const dir = () => {
        dirs.push(mkdtempSync(join(tmpdir(), "aggregator-cluster-")));
        return dirs.at(-1)!;
      };
      // the projectors first: the first one takes the lease, the second stands by
      projectors.push(await startWorker("dist/projector.js", { ...env, DATA_DIR: dir() }, "projector running"));
      await projectors[0]!.logged((l) => l.msg === "projector: active (lease taken)");
      projectors.push(await startWorker("dist/projector.js", { ...env, DATA_DIR: dir() }, "projector running"));
      relay = await startWorker(
        "dist/relay.js",
        { ...env, DATA_DIR: dir(), KAFKA_BROKERS: brokerList!, KAFKA_TOPIC: TOPIC },
        "relay: active",
      );
      for (let i = 0; i < 3; i++) apis.push(await startServer({ ...env, DATA_DIR: dir(), RUN_PROJECTOR: "false" }));
      events = await openPostgresEventStore(pgDb.url);
    }, 180_000);

    afterAll(async () => {
      await Promise.all(apis.filter((a) => !dead.has(a)).map((a) => a.stop()));
      await Promise.all([...projectors, relay].filter(Boolean).map((w) => w.stop()));
      await events?.close();
      await fixture?.close();
      if (pgDb) await dropPostgresDatabase(postgresUrl!, pgDb.name).catch((e: unknown) => console.error(e));
      await dropMongoDatabase(mongoUrl!, MONGO_DB).catch((e: unknown) => console.error(e));
      await dropMongoDatabase(mongoUrl!, `${MONGO_DB}_rebuild`).catch((e: unknown) => console.error(e));
      await deleteTopic(brokerList!.split(","), TOPIC).catch((e: unknown) => console.error(e));
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }, 120_000);

    it("50 concurrent creations of one key name over the three APIs: exactly one succeeds", { timeout: 60_000 }, async () => {
      const answers = await Promise.all(
        Array.from({ length: 50 }, () => admin(nextApi(), "POST", "/auth/api-keys", { userId: "names", name: "laptop" })),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([201, ...Array(49).fill(409)]);
      expect(answers.filter((a) => a.status === 409).every((a) => a.body.code === "API_KEY.NAME_TAKEN")).toBe(true);
    });

    it(
      "300 concurrent gateway requests on an account funded for 100 holds: exactly 100 served, no overspend, every hold closed",
      {
        timeout: 180_000,
      },
      async () => {
        const { key } = await mintKey("funded", "gateway");
        const quote = await fetch(`${apis[0]!.url}/proxy/validate-request`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: JSON.stringify(ask),
        });
        const hold = parseMoney(((await quote.json()) as { funds: { required: string } }).funds.required);
        expect(
          (await admin(nextApi(), "POST", "/billing/payment/process", { userId: "funded", amount: formatMoney(100 * hold) })).status,
        ).toBe(201);
        let open!: () => void;
        gate = new Promise<void>((r) => (open = r)); // every served request waits at the upstream: all holds first
        let refused = 0;
        const calls = Array.from({ length: 300 }, () =>
          client(nextApi(), key)
            .chat.completions.create(ask)
            .catch((e: unknown) => {
              refused++;
              throw e;
            }),
        );
        const settled = Promise.allSettled(calls);
        for (let i = 0; i < 1200 && refused < 200; i++) await sleep(100);
        open();
        const outcomes = await settled;
        const statuses = outcomes.map(statusOf);
        expect(statuses.filter((s) => s === 200)).toHaveLength(100);
        // the rest are refused, nothing held for them: 402, or 409 EVENT_STORE.CONCURRENCY (Retry-After 1) when
        // the account stream kept changing under all of its 5 attempts (three instances append to it at once)
        const codes = outcomes.flatMap((o) =>
          o.status === "rejected" && o.reason instanceof APIError ? [`${o.reason.status} ${o.reason.code}`] : [],
        );
        const counts = Object.fromEntries([...new Set(codes)].map((c) => [c, codes.filter((x) => x === c).length]));
        console.info(`300 requests funded for 100: 100 served, refused ${JSON.stringify(counts)}`);
        expect(Object.keys(counts).sort()).toEqual(
          ["402 GATEWAY.INSUFFICIENT_FUNDS", "409 EVENT_STORE.CONCURRENCY"].filter((c) => counts[c] !== undefined),
        );
        expect(codes).toHaveLength(200);
        const { balance, held } = await ledger(events, "funded");
        expect(held).toBe(0);
        expect(balance).toBe(100 * hold - 100 * 603); // 15 × 0.15 + 1000 × 0.60 per million = 602.25 → 603 per request
        const released = (await events.readStream("account-funded")).filter((e) => e.type === "usage_released");
        expect(released).toHaveLength(100);
        expect(released.every((e) => e.data.reason === "settled")).toBe(true);
      },
    );

    it("requestsPerMinute 30 across three APIs: 30 served of 90 (slack 0), the rest 429", { timeout: 120_000 }, async () => {
      const { key } = await mintKey("limited", "rpm", { requestsPerMinute: 30 });
      expect((await admin(nextApi(), "POST", "/billing/payment/process", { userId: "limited", amount: "100" })).status).toBe(201);
      const outcomes = await Promise.allSettled(Array.from({ length: 90 }, () => client(nextApi(), key).chat.completions.create(ask)));
      const statuses = outcomes.map(statusOf);
      const served = statuses.filter((s) => s === 200).length;
      console.info(`rpm 30 over 3 instances: ${served} served of 90 (slack ${served - 30})`);
      expect(served).toBeLessThanOrEqual(30);
      expect(served).toBe(30); // nothing else refuses them: the shared window admits exactly the limit
      expect(statuses.filter((s) => s === 429)).toHaveLength(60);
    });

    it(
      `a key revoked on one API is refused by every API once its ${AUTH_CACHE_TTL_MS} ms auth cache ran out`,
      { timeout: 60_000 },
      async () => {
        const { id, key } = await mintKey("revoked", "soon");
        const balance = (api: Api) => fetch(`${api.url}/billing/balance/revoked`, { headers: { authorization: `Bearer ${key}` } });
        for (const api of apis) expect((await balance(api)).status).toBe(404); // known everywhere (no account yet), now cached
        expect((await admin(apis[0]!, "DELETE", `/auth/api-keys/${id}`)).status).toBe(200);
        const acknowledged = Date.now();
        const refusedAfter = await Promise.all(
          apis.map(async (api) => {
            while ((await balance(api)).status !== 401) await sleep(10);
            return Date.now() - acknowledged;
          }),
        );
        console.info(`revocation refused on the three APIs after ${refusedAfter.join(", ")} ms`);
        await sleep(Math.max(0, acknowledged + AUTH_CACHE_TTL_MS - Date.now()));
        for (const api of apis) expect((await balance(api)).status).toBe(401); // any request after the bound is refused
      },
    );

    it(
      "kill -9 of one API and of the active projector mid-load: every acknowledged command stored, the standby takes over, read models equal a rebuild, the topic holds every event once",
      {
        timeout: 300_000,
      },
      async () => {
        const users = Array.from({ length: 6 }, (_, i) => `load${i}`);
        for (const userId of users)
          expect((await admin(nextApi(), "POST", "/billing/payment/process", { userId, amount: "1000" })).status).toBe(201);
        const acknowledged: string[] = [];
        let sent = 0;
        const TOTAL = 600;
        let killedAt = 0;
        const worker = async () => {
          while (sent < TOTAL) {
            const n = sent++;
            const usageId = `u_${RUN}_${n}`;
            const r = await admin(nextApi(), "POST", "/billing/usage/track", {
              userId: users[n % users.length],
              usageId,
              provider: "openai",
              model: "gpt-4o-mini",
              promptTokens: 100,
              completionTokens: 50,
            }).catch(() => ({ status: 0, body: {} }));
            if (r.status === 201) acknowledged.push(usageId);
            if (n === 200 && !killedAt) {
              killedAt = Date.now();
              dead.add(apis[2]!);
              await Promise.all([apis[2]!.kill(), projectors[0]!.kill()]);
            }
          }
        };
        await Promise.all(Array.from({ length: 16 }, worker));
        expect(killedAt).toBeGreaterThan(0);
        expect(acknowledged.length).toBeGreaterThan(TOTAL / 2);

        // the standby took the lease over
        const tookOver = await projectors[1]!.logged((l) => l.msg === "projector: active (lease taken)", 60_000);
        console.info(`standby projector active ${tookOver.time - killedAt} ms after the kill -9 of the active one`);
        expect(tookOver.time).toBeGreaterThan(killedAt);

        // every acknowledged command is in the store
        const all: RecordedEvent[] = [];
        for (let from = 0; ;) {
          const page = await events.readAll({ after: from, maxCount: 1000 });
          if (page.length === 0) break;
          all.push(...page);
          from = page.at(-1)!.position;
        }
        const stored = new Set(all.filter((e) => e.type === "ai_usage").map((e) => (e.data as { usageId: string }).usageId));
        expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);

        // the read models reach the head and equal a rebuild from zero
        const head = await events.headPosition();
        let caughtUp = 0;
        for (let i = 0; i < 60 && caughtUp !== 200; i++)
          caughtUp = (await admin(apis[0]!, "GET", `/billing/balance/load0?minPosition=${head}`)).status;
        expect(caughtUp).toBe(200);
        const live: ReadStore = await openMongoReadStore(mongoUrl!, MONGO_DB);
        const rebuilt: ReadStore = await openMongoReadStore(mongoUrl!, `${MONGO_DB}_rebuild`);
        try {
          await projectToHead(events, rebuilt);
          expect(await dumpReadModels(live)).toEqual(await dumpReadModels(rebuilt));
        } finally {
          await live.close();
          await rebuilt.close();
        }

        // the topic: every relayed event of the store, exactly once after dedupe on ce_id
        const relayed = all.filter((e) => (RELAYED_EVENT_TYPES as readonly string[]).includes(e.type));
        let unique = new Set<string>();
        for (let i = 0; i < 60 && unique.size < relayed.length; i++) {
          const records = await readTopic({ brokers: brokerList!.split(","), topic: TOPIC });
          unique = new Set(records.map((r) => r.id));
          if (unique.size < relayed.length) await sleep(1000);
        }
        expect([...unique].sort()).toEqual(relayed.map((e) => e.metadata.eventId).sort());
      },
    );
  },
);
