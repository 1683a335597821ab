import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.ts";

describe("config: the PostgreSQL event store", () => {
  it("EVENT_STORE=postgres needs POSTGRES_URL, named in one line", () => {
    expect(() => loadConfig({ EVENT_STORE: "postgres" })).toThrow(
      new ConfigError("invalid configuration: POSTGRES_URL is required when EVENT_STORE=postgres"),
    );
    expect(() => loadConfig({ EVENT_STORE: "postgres", POSTGRES_URL: "127.0.0.1:5432" })).toThrow(
      /^invalid configuration: POSTGRES_URL: must be postgres:\/\//,
    );
  });

  it("accepts postgres:// and postgresql:// URLs", () => {
    for (const url of ["postgres://postgres@127.0.0.1:55432/aggregator", "postgresql://u:p@db/aggregator?sslmode=require"]) {
      expect(loadConfig({ EVENT_STORE: "postgres", POSTGRES_URL: url })).toMatchObject({ EVENT_STORE: "postgres", POSTGRES_URL: url });
    }
  });
});
