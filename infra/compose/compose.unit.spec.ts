import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

// README "Production-like run": docker-compose.yml, checked without a Docker engine (there is none here).
// It validates against the Compose Specification's JSON schema (vendored from github.com/compose-spec/compose-spec,
// test/vendor/compose-spec, Apache-2.0); every variable of the README's table reaches the services whose program
// reads it; Prometheus scrapes each app where it serves /metrics; Grafana loads the dashboard from the repo.

const ROOT = resolve(import.meta.dirname, "../..");
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");
const compose = parse(read("docker-compose.yml"), { merge: true }) as {
  services: Record<string, { environment?: Record<string, unknown>; volumes?: string[]; image?: string; depends_on?: unknown }>;
};
const APPS = ["api", "projector", "relay"] as const;
type App = (typeof APPS)[number];
const envOf = (service: string) => compose.services[service]?.environment ?? {};

/** which programs read each variable (apps/main.ts, apps/projector/main.ts, apps/relay/main.ts through apps/composition) */
const READ_BY: Record<string, readonly App[]> = {
  PORT: ["api"],
  HOST: APPS, // the API, and /metrics of the projector and relay
  DATA_DIR: APPS, // SQLite files; the api's generated admin token
  ADMIN_TOKEN: ["api"],
  EVENT_STORE: APPS,
  ESDB_URL: APPS,
  POSTGRES_URL: APPS,
  READ_STORE: APPS, // the relay keeps its checkpoint in the read store
  MONGO_URL: APPS,
  MONGO_DB: APPS,
  KAFKA_BROKERS: ["relay"], // on the api it would start a second relay in-process
  KAFKA_TOPIC: ["api", "relay"], // the api names it in /status
  OPENAI_API_KEY: ["api"],
  OPENAI_BASE_URL: ["api"],
  OPENROUTER_API_KEY: ["api"],
  OPENROUTER_BASE_URL: ["api"],
  RUN_PROJECTOR: ["api"],
  LOG_LEVEL: APPS,
  METRICS_PORT: ["projector", "relay"], // the api serves /metrics on PORT
  OTEL_EXPORTER_OTLP_ENDPOINT: APPS,
};
/** set by the operator (shell or .env), not by the compose's own wiring: the value must come from the shell */
const FROM_THE_SHELL = [
  "ADMIN_TOKEN",
  "OPENAI_API_KEY",
  "OPENAI_BASE_URL",
  "OPENROUTER_API_KEY",
  "OPENROUTER_BASE_URL",
  "EVENT_STORE",
  "MONGO_DB",
  "KAFKA_TOPIC",
  "LOG_LEVEL",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
];

function readmeVariables(): string[] {
  const readme = read("README.md");
  const table = readme.slice(readme.indexOf("| variable | default | meaning |"));
  const rows = table.split("\n").slice(2);
  const body = rows.slice(
    0,
    rows.findIndex((row) => !row.startsWith("|")),
  );
  return body.flatMap((row) => [...row.split("|")[1]!.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]!));
}

describe("docker-compose.yml", () => {
  it("validates against the Compose Specification schema", () => {
    const schema = JSON.parse(read("test/vendor/compose-spec/compose-spec.json")) as object;
    const validate = new Ajv({ strict: false, allErrors: true, validateSchema: false }).compile(schema);
    const valid = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(valid).toBe(true);
    // the schema is not a pass-everything: a misspelt service key fails it
    expect(validate({ services: { api: { imgae: "x" } } })).toBe(false);
  });

  it("the README's table names every variable infra/config.ts reads, and each has its readers here", () => {
    const configured = [...read("infra/config.ts").matchAll(/^ {2}([A-Z][A-Z0-9_]+): z/gm)].map((m) => m[1]!);
    expect(readmeVariables().sort()).toEqual(configured.sort());
    expect(Object.keys(READ_BY).sort()).toEqual(configured.sort());
  });

  it("every variable of the README's table reaches the services that read it", () => {
    const missing = readmeVariables().flatMap((name) =>
      READ_BY[name]!.filter((app) => !(name in envOf(app))).map((app) => `${app}: ${name}`),
    );
    expect(missing).toEqual([]);
    for (const name of FROM_THE_SHELL)
      for (const app of READ_BY[name]!)
        expect(String(envOf(app)[name]), `${app}: ${name}`).toMatch(new RegExp(`^\\$\\{${name}(:?[-?]|\\})`));
    expect(envOf("api").KAFKA_BROKERS, "the api runs no relay of its own").toBeUndefined();
    expect(envOf("api").RUN_PROJECTOR, "the projector service builds the read models").toBe("false");
  });

  it("Prometheus scrapes the api, projector and relay where they serve /metrics; traces go to the collector", () => {
    const prometheus = compose.services.prometheus!;
    const mount = prometheus.volumes!.map((v) => v.split(":")).find(([, target]) => target === "/etc/prometheus/prometheus.yml")!;
    const config = parse(read(mount[0]!)) as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
    const targets = Object.fromEntries(config.scrape_configs.map((job) => [job.job_name, job.static_configs.flatMap((s) => s.targets)]));
    expect(targets).toEqual({
      api: [`api:${envOf("api").PORT}`],
      projector: [`projector:${envOf("projector").METRICS_PORT}`],
      relay: [`relay:${envOf("relay").METRICS_PORT}`],
    });
    for (const app of APPS) {
      const endpoint = new URL(/^\$\{OTEL_EXPORTER_OTLP_ENDPOINT:?-(.+)\}$/.exec(String(envOf(app).OTEL_EXPORTER_OTLP_ENDPOINT))![1]!);
      expect(compose.services[endpoint.hostname], `${app}: ${endpoint.hostname}`).toBeDefined();
      expect(endpoint.port).toBe("4318"); // OTLP/HTTP
    }
  });

  it("Grafana provisions the Prometheus data source and the dashboard of the repo", () => {
    const volumes = Object.fromEntries(
      compose.services.grafana!.volumes!.map((v) => v.split(":")).map(([source, target]) => [target!, source!]),
    );
    const provisioning = volumes["/etc/grafana/provisioning"]!;
    const datasources = parse(read(join(provisioning, "datasources/prometheus.yml"))) as { datasources: { uid: string; url: string }[] };
    const providers = parse(read(join(provisioning, "dashboards/aggregator.yml"))) as { providers: { options: { path: string } }[] };
    const dashboards = volumes[providers.providers[0]!.options.path]!;
    expect(dashboards).toBeDefined();
    const dashboard = JSON.parse(read(join(dashboards, "aggregator.json"))) as { panels: { type: string; datasource?: { uid: string } }[] };
    const { uid, url } = datasources.datasources[0]!;
    expect(compose.services[new URL(url).hostname]).toBe(compose.services.prometheus);
    const graphs = dashboard.panels.filter((p) => p.type !== "row");
    expect(graphs.length).toBeGreaterThan(0);
    expect(graphs.filter((p) => p.datasource?.uid !== uid)).toEqual([]);
  });

  it(".dockerignore keeps out everything git ignores, and .git", () => {
    const entries = (file: string) =>
      read(file)
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line && !line.startsWith("#"));
    const ignored = entries(".dockerignore");
    const normalise = (entry: string) => entry.replace(/\/$/, "");
    const covered = (entry: string) =>
      ignored.some((i) => normalise(i) === normalise(entry) || normalise(entry).startsWith(`${normalise(i)}/`));
    expect(entries(".gitignore").filter((entry) => !covered(entry))).toEqual([]);
    expect(ignored).toContain(".git");
    // and nothing the Dockerfile copies is ignored
    const copied = [...read("Dockerfile").matchAll(/^COPY (.+) \S+$/gm)].flatMap((m) => m[1]!.split(" "));
    expect(copied.filter((path) => ignored.map(normalise).includes(normalise(path)))).toEqual([]);
    for (const path of copied) expect(existsSync(join(ROOT, path)), path).toBe(true);
  });
});
