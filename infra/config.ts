import { z } from "zod";

// Environment contract (README, "Production-like run"). A bad value stops start-up with one line naming the variable.
const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default("127.0.0.1"),
  DATA_DIR: z.string().min(1).default("./data"),
  ADMIN_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  EVENT_STORE: z.enum(["sqlite", "esdb", "postgres"]).default("sqlite"),
  ESDB_URL: z.string().startsWith("esdb").optional(),
  POSTGRES_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be postgres://user@host:port/database")
    .optional(),
  READ_STORE: z.enum(["sqlite", "mongo"]).default("sqlite"),
  MONGO_URL: z.string().startsWith("mongodb").optional(),
  MONGO_DB: z.string().min(1).default("aggregator"),
  KAFKA_BROKERS: z
    .string()
    .regex(/^[^\s,]+:\d+(,[^\s,]+:\d+)*$/, "must be host:port[,host:port...]")
    .optional(),
  KAFKA_TOPIC: z.string().min(1).default("aggregator.events"),
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_BASE_URL: z.url().default("https://api.openai.com/v1"),
  OPENROUTER_API_KEY: z.string().optional(),
  OPENROUTER_BASE_URL: z.url().default("https://openrouter.ai/api/v1"),
  /** false: this process only reads the checkpoint a separate projector writes (docker-compose) */
  RUN_PROJECTOR: z
    .enum(["true", "false"])
    .default("true")
    .transform((v) => v === "true"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** the projector and relay apps serve GET /metrics on this port (the API serves it on PORT) */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** OTLP/HTTP base URL of a trace collector (`/v1/traces` is appended); no tracing when unset */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
});

export type Config = z.infer<typeof schema>;

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
