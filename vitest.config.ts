import { defineConfig } from "vitest/config";

// Tiers by suffix: *.unit.spec.ts (no I/O), *.int.spec.ts (SQLite files, app.inject),
// *.e2e.spec.ts (real engines, real HTTP). CI runs all of them.
export default defineConfig({
  test: {
    include: ["{domain,projections,application,infra,apps,test}/**/*.spec.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    env: { KAFKAJS_NO_PARTITIONER_WARNING: "1" },
  },
});
