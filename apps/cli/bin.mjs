#!/usr/bin/env node
// The `aggregator` bin (package.json "bin"): runs the TypeScript CLI through tsx's ESM loader, so there
// is no build step. tsx resolves from this package's node_modules, wherever the command is run from.
import { register } from "tsx/esm/api";

register();
await import("./main.ts");
