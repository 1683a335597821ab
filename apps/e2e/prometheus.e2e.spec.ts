import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prometheusBins } from "../../test/engines/require-engine.ts";
import { startUpstreamFixture, type UpstreamFixture } from "../../test/fixtures/upstream-fixture.ts";
import { UPSTREAM_KEYS } from "../../test/harness/gateway-harness.ts";
import { promtoolCheck, startPrometheus, type PromSample } from "../../test/harness/prometheus.ts";
import { startServer } from "../../test/harness/server.ts";

// README "Operations › Metrics": a real Prometheus server (Debian's package) scrapes a live `npm start`.
// After known traffic its HTTP API answers the request counts by route pattern and status, a projection
// lag back at 0 for every projection, and upstream latency series for the fixture's provider and model.
// The exposition passes promtool's strict parser; our own metric families pass its lint as well (Node's
// default metrics do not: nodejs_active_handles_total is a gauge named like a counter).

const bins = prometheusBins();
const ADMIN = "prometheus-admin-token-0123456789";
const PAYMENTS = 5;
const CHATS = 3;
const MISSES = 2;

const value = (result: PromSample[]) => result.map((s) => Number(s.value[1]));

describe.skipIf(!bins)("metrics: Prometheus scrapes npm start", () => {
  const dir = mkdtempSync(join(tmpdir(), "prometheus-e2e-"));
  let fixture: UpstreamFixture;
  let server: Awaited<ReturnType<typeof startServer>>;
  let prometheus: Awaited<ReturnType<typeof startPrometheus>>;
  beforeAll(async () => {
    fixture = await startUpstreamFixture(() => ({ usage: { prompt_tokens: 9, completion_tokens: 2 } }));
    server = await startServer({
      DATA_DIR: dir,
      ADMIN_TOKEN: ADMIN,
      KAFKA_BROKERS: "", // no relay: the shell of an engines run may name brokers
      OPENAI_BASE_URL: fixture.baseUrl("openai"),
      OPENAI_API_KEY: UPSTREAM_KEYS.openai,
    });
    prometheus = await startPrometheus(bins!.prometheus, { aggregator: new URL(server.url).host });
  });
  afterAll(async () => {
    await prometheus?.close();
    await server?.stop();
    await fixture?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (path: string, body: object, token = ADMIN) =>
    fetch(`${server.url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it(
    "after known traffic: request counts, projection lag back to 0, upstream latency of the fixture provider",
    { timeout: 120_000 },
    async () => {
      await prometheus.waitFor('up{job="aggregator"}', (r) => value(r)[0] === 1);
      for (let i = 0; i < PAYMENTS; i++)
        expect((await post("/billing/payment/process", { userId: `prom-${i % 2}`, amount: "3" })).status).toBe(201);
      const { key } = (await (await post("/auth/api-keys", { userId: "prom-0", name: "scraped" })).json()) as { key: string };
      for (let i = 0; i < CHATS; i++) {
        const answer = await post("/v1/chat/completions", { model: "gpt-4o-mini", messages: [{ role: "user", content: `hi ${i}` }] }, key);
        expect(answer.status).toBe(200);
      }
      for (let i = 0; i < MISSES; i++) expect((await fetch(`${server.url}/no/such/path/${i}`)).status).toBe(404);

      const count = (route: string, status: number) => `sum(aggregator_http_requests_total{route="${route}",status="${status}"})`;
      await prometheus.waitFor(count("/billing/payment/process", 201), (r) => value(r)[0] === PAYMENTS);
      await prometheus.waitFor(count("/v1/chat/completions", 200), (r) => value(r)[0] === CHATS);
      // the raw paths never become labels: the misses are one series under "unmatched"
      await prometheus.waitFor(count("unmatched", 404), (r) => value(r)[0] === MISSES);
      expect(await prometheus.query('count(aggregator_http_requests_total{route=~"/no/.*"})')).toEqual([]);

      const latency = await prometheus.waitFor(
        'aggregator_upstream_request_duration_seconds_count{provider="openai",model="gpt-4o-mini"}',
        (r) => value(r)[0] === CHATS,
      );
      expect(latency).toHaveLength(1);
      const firstByte = await prometheus.query(
        'aggregator_upstream_first_byte_duration_seconds_sum{provider="openai",model="gpt-4o-mini"}',
      );
      expect(value(firstByte)[0]).toBeGreaterThan(0);
      await prometheus.waitFor(
        'sum(aggregator_upstream_requests_total{provider="openai",status_class="2xx"})',
        (r) => value(r)[0] === CHATS,
      );

      // everything written is projected: the lag of every projection returns to 0, at the head position
      const head = ((await (await fetch(`${server.url}/ready`)).json()) as { headPosition: number }).headPosition;
      const lag = await prometheus.waitFor(
        "aggregator_projection_lag_events",
        (r) => r.length > 0 && value(r).every((v) => v === 0) && r.every((s) => Number(s.value[0]) > 0),
      );
      expect(lag.map((s) => s.metric.projection).sort()).toContain("balances");
      await prometheus.waitFor("min(aggregator_projection_position)", (r) => value(r)[0]! >= head);
      await prometheus.waitFor("max(aggregator_projection_lag_seconds)", (r) => value(r)[0] === 0);
      // three holds, each settled
      await prometheus.waitFor('aggregator_holds_released_total{reason="settled"}', (r) => value(r)[0] === CHATS);
      await prometheus.waitFor("aggregator_holds_open", (r) => value(r)[0] === 0);
    },
  );

  it("the exposition parses with promtool; our metric families also pass its lint", async () => {
    const exposition = await (await fetch(`${server.url}/metrics`)).text();
    const whole = await promtoolCheck(bins!.promtool, exposition);
    // 0, or 3 for lint problems; 1 would be a parse error
    expect([0, 3], whole.output).toContain(whole.code);
    const complaints = whole.output.split("\n").filter(Boolean);
    expect(complaints.filter((line) => !line.startsWith("nodejs_"))).toEqual([]);

    const ours = exposition
      .split("\n")
      .filter((line) => /^(# (HELP|TYPE) )?aggregator_/.test(line))
      .join("\n");
    expect(ours).toContain("# TYPE aggregator_http_request_duration_seconds histogram");
    expect(await promtoolCheck(bins!.promtool, `${ours}\n`)).toEqual({ code: 0, output: "" });
  });

  // the compose's Prometheus and Grafana (infra/compose): its config passes promtool, and every query of the
  // dashboard runs on this Prometheus and finds series
  it("the compose's Prometheus config passes promtool; the Grafana dashboard's queries answer here", async () => {
    const compose = resolve(import.meta.dirname, "../../infra/compose");
    await promisify(execFile)(bins!.promtool, ["check", "config", join(compose, "prometheus.yml")]);
    const dashboard = JSON.parse(readFileSync(join(compose, "grafana/dashboards/aggregator.json"), "utf8")) as {
      panels: { title: string; targets?: { expr: string }[] }[];
    };
    const exprs = dashboard.panels.flatMap((p) =>
      (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr.replaceAll("$__rate_interval", "1m") })),
    );
    expect(exprs.length).toBeGreaterThan(10);
    // what this traffic had none of: no upstream error, no refusal, no relay
    const none = ["Refusals by limit", "Relay lag (events)", "Upstream errors by kind"];
    for (const { panel, expr } of exprs) {
      if (none.includes(panel)) expect(await prometheus.query(expr), panel).toEqual([]);
      else await prometheus.waitFor(expr, (r) => r.length > 0); // a rate needs two scrapes of a series
    }
  });
});
