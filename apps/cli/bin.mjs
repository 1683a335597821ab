#!/usr/bin/env node
// The `aggregator` bin (package.json "bin"): the compiled CLI (dist/cli.js, built by `npm install` /
// `npm run build`). From the sources, in development: `npx tsx apps/cli/main.ts`.
await import("../../dist/cli.js");
