import { defineConfig } from "vitest/config";
import { tests } from "./stryker.config.mjs";
import base from "./vitest.config.ts";

// The vitest config Stryker runs: the base config with only the fast tests stryker.config.mjs names.
export default defineConfig({ ...base, test: { ...base.test, include: tests } });
