import { defineConfig } from "vitest/config";

// Tiers by suffix, one vitest project each: unit (*.unit.spec.ts, no I/O), int (*.int.spec.ts, SQLite
// files, app.inject), e2e (*.e2e.spec.ts, real engines, real HTTP). `npm test` runs all three;
// `npm run test:unit` (or test:int, test:e2e) one of them.
const FOLDERS = "{domain,projections,application,infra,apps,test}";
const tier = (name: string) => ({ extends: true as const, test: { name, include: [`${FOLDERS}/**/*.${name}.spec.ts`] } });

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    globalSetup: ["test/harness/build-dist.ts"],
    env: { KAFKAJS_NO_PARTITIONER_WARNING: "1" },
    projects: [tier("unit"), tier("int"), tier("e2e")],
  },
});
