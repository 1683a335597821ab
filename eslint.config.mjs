import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

// typescript-eslint's recommended rules, plus the two type-aware rules about promises (a floating
// promise is a bug here: a command whose append is not awaited answers before it is durable). The full
// recommendedTypeChecked set took 37 s on this machine against 10 s without type information; these two
// cost the type program only (about 24 s in all).
export default tseslint.config(
  {
    ignores: [
      ".engines/**",
      "data/**",
      "dist/**",
      "coverage/**",
      "reports/**",
      ".bench/**",
      ".stryker-tmp/**",
      ".screenshots/**",
      "infra/engines/kafka/target/**",
      "infra/engines/ferretdb/**",
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { project: ["./tsconfig.json", "./apps/console/src/tsconfig.json"], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  { files: ["apps/console/src/**"], languageOptions: { globals: globals.browser } },
  { files: ["**/*.mjs", "vitest.stryker.config.ts"], extends: [tseslint.configs.disableTypeChecked] },
);
