import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { accountStream, type RecordedEvent } from "../../domain/events.ts";
import type { GatewayOptions } from "../../application/gateway/gateway.ts";
import { testApp, type TestApp } from "./platform.ts";
import { startUpstreamFixture, type Script, type UpstreamFixture } from "../fixtures/upstream-fixture.ts";

// A listening API whose OpenAI and OpenRouter providers are the local upstream fixture, plus helpers
// to fund accounts, mint API keys and read what the account streams recorded.

export const UPSTREAM_KEYS = { openai: "upstream-openai-secret-0123456789", openrouter: "upstream-openrouter-secret-0123456789" };

export interface GatewayHarness {
  t: TestApp;
  fixture: UpstreamFixture;
  /** http://127.0.0.1:PORT */
  url: string;
  fund(userId: string, amount: string): Promise<void>;
  key(userId: string, limits?: Record<string, unknown>): Promise<{ id: string; key: string }>;
  /** the official SDK, with retries off so every status is seen as sent */
  client(key: string): OpenAI;
  events(userId: string): Promise<RecordedEvent[]>;
  /** the account's balance and held amount from its stream (no projection lag) */
  ledger(userId: string): Promise<{ balance: number; held: number }>;
  close(): Promise<void>;
}

export async function startGatewayHarness(
  script?: Script,
  env: Record<string, string> = {},
  gateway: Partial<GatewayOptions> = {},
): Promise<GatewayHarness> {
  const fixture = await startUpstreamFixture(script);
  const t = await testApp(
    {
      OPENAI_BASE_URL: fixture.baseUrl("openai"),
      OPENAI_API_KEY: UPSTREAM_KEYS.openai,
      OPENROUTER_BASE_URL: fixture.baseUrl("openrouter"),
      OPENROUTER_API_KEY: UPSTREAM_KEYS.openrouter,
      ...env,
    },
    { gateway },
  );
  await t.app.listen({ port: 0, host: "127.0.0.1" });
  const url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  const events = (userId: string) => t.platform.events.readStream(accountStream(userId));
  return {
    t,
    fixture,
    url,
    async fund(userId, amount) {
      const r = await t.app.inject({ method: "POST", url: "/billing/payment/process", headers: t.admin, payload: { userId, amount } });
      if (r.statusCode !== 201) throw new Error(`fund ${userId}: ${r.statusCode} ${r.body}`);
      // read your write: routes that answer from the read models (validate-request's funds) see the payment
      const seen = await t.app.inject({ url: `/billing/balance/${userId}?minPosition=${r.json().position}`, headers: t.admin });
      if (seen.statusCode !== 200) throw new Error(`fund ${userId}: balance ${seen.statusCode} ${seen.body}`);
    },
    async key(userId, limits) {
      const payload = { userId, name: `k-${Math.random().toString(36).slice(2)}`, ...(limits ? { limits } : {}) };
      const r = await t.app.inject({ method: "POST", url: "/auth/api-keys", headers: t.admin, payload });
      if (r.statusCode !== 201) throw new Error(`key ${userId}: ${r.statusCode} ${r.body}`);
      return r.json() as { id: string; key: string };
    },
    client: (key) => new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: 0 }),
    events,
    async ledger(userId) {
      let balance = 0;
      const holds = new Map<string, number>();
      for (const e of await events(userId)) {
        if (e.type === "transaction_created") balance += e.data.amount;
        if (e.type === "usage_reserved") holds.set(e.data.reservationId, e.data.amount);
        if (e.type === "usage_released") holds.delete(e.data.reservationId);
      }
      return { balance, held: [...holds.values()].reduce((a, b) => a + b, 0) };
    },
    async close() {
      // an SDK whose stream was aborted may leave a fresh socket that never sent a request; Node
      // counts it as busy and server.close() would wait for headersTimeout
      t.app.server.closeAllConnections();
      await t.close();
      await fixture.close();
    },
  };
}
