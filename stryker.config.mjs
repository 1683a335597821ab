// Mutation testing with Stryker: `npm run mutation` (scores and survivors: TESTING.md). Not part of
// `npm test`: it reruns the tests once per mutant, minutes on two cores.
// The ONE place that names what is mutated and which fast tests judge it; vitest.stryker.config.ts
// reads `tests` from here. Update both lists when files move.

/** the code under mutation */
export const mutate = [
  "domain/**/*.ts",
  "!domain/**/*.spec.ts",
  "application/commands/command-handler.ts",
  "application/gateway/settlement.ts",
  "projections/projector.ts",
];

/** the fast unit tests that cover it (int and e2e suites are too slow to rerun per mutant) */
export const tests = [
  "domain/**/*.unit.spec.ts",
  "application/commands/command-handler.unit.spec.ts",
  "application/gateway/settlement.unit.spec.ts",
  "projections/projector.unit.spec.ts",
];

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  vitest: { configFile: "vitest.stryker.config.ts" },
  mutate,
  coverageAnalysis: "perTest",
  concurrency: 2,
  reporters: ["clear-text", "progress", "json", "html"],
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  htmlReporter: { fileName: "reports/mutation/index.html" },
  thresholds: { high: 90, low: 80, break: 75 },
  tempDirName: ".stryker-tmp",
  // not copied into the sandbox: engine binaries and jars, local data
  ignorePatterns: ["infra/engines/kafka/target", "infra/engines/ferretdb/ferretdb-bin", ".engines", "data", ".bench", "coverage", "dist"],
};
