import { defineConfig } from "vitest/config";
import { tests } from "./stryker.config.mjs";
import base from "./vitest.config.ts";

// The vitest config Stryker runs: the base settings, without the tier projects, on only the fast tests
// stryker.config.mjs names.
const { projects: _tiers, ...settings } = base.test ?? {};
export default defineConfig({ ...base, test: { ...settings, include: tests } });
