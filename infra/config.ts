import * as z from "./zod-mini.ts";

const port = z.pipe(z.coerce.number(), z.int().check(z.minimum(0), z.maximum(65535)));
const url = z.url();

// Environment contract (README, "Production-like run"). A bad value stops start-up with one line naming the variable.
const schema = z.object({
  PORT: z._default(port, 8080),
  HOST: z._default(z.string().check(z.minLength(1)), "127.0.0.1"),
  DATA_DIR: z._default(z.string().check(z.minLength(1)), "./data"),
  ADMIN_TOKEN: z.optional(z.string().check(z.minLength(16, "must be at least 16 characters"))),
  EVENT_STORE: z._default(z.enum(["sqlite", "esdb", "postgres"]), "sqlite"),
  ESDB_URL: z.optional(z.string().check(z.startsWith("esdb"))),
  POSTGRES_URL: z.optional(z.string().check(z.regex(/^postgres(ql)?:\/\//, "must be postgres://user@host:port/database"))),
  READ_STORE: z._default(z.enum(["sqlite", "mongo"]), "sqlite"),
  MONGO_URL: z.optional(z.string().check(z.startsWith("mongodb"))),
  MONGO_DB: z._default(z.string().check(z.minLength(1)), "aggregator"),
  KAFKA_BROKERS: z.optional(z.string().check(z.regex(/^[^\s,]+:\d+(,[^\s,]+:\d+)*$/, "must be host:port[,host:port...]"))),
  KAFKA_TOPIC: z._default(z.string().check(z.minLength(1)), "aggregator.events"),
  OPENAI_API_KEY: z.optional(z.string()),
  OPENAI_BASE_URL: z._default(url, "https://api.openai.com/v1"),
  OPENROUTER_API_KEY: z.optional(z.string()),
  OPENROUTER_BASE_URL: z._default(url, "https://openrouter.ai/api/v1"),
  /** false: this process only reads the checkpoint a separate projector writes (docker-compose) */
  RUN_PROJECTOR: z.pipe(
    z._default(z.enum(["true", "false"]), "true"),
    z.transform((v) => v === "true"),
  ),
  LOG_LEVEL: z._default(z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]), "info"),
  /** the projector and relay apps serve GET /metrics on this port (the API serves it on PORT) */
  METRICS_PORT: z.optional(port),
  /** OTLP/HTTP base URL of a trace collector (`/v1/traces` is appended); no tracing when unset */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.optional(z.url({ protocol: /^https?$/ })),
});

export type Config = z.output<typeof schema>;

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const blanksRemoved = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = schema.safeParse(blanksRemoved);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`invalid configuration: ${issue.path.join(".")}: ${issue.message}`);
  }
  const config = parsed.data;
  if (config.EVENT_STORE === "esdb" && !config.ESDB_URL)
    throw new ConfigError("invalid configuration: ESDB_URL is required when EVENT_STORE=esdb");
  if (config.EVENT_STORE === "postgres" && !config.POSTGRES_URL)
    throw new ConfigError("invalid configuration: POSTGRES_URL is required when EVENT_STORE=postgres");
  if (config.READ_STORE === "mongo" && !config.MONGO_URL)
    throw new ConfigError("invalid configuration: MONGO_URL is required when READ_STORE=mongo");
  return config;
}
