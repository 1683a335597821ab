import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../infra/config.ts";
import { buildApp } from "../../apps/api/app.ts";
import type { GatewayOptions } from "../../application/gateway/gateway.ts";
import { createPlatform } from "../../apps/composition/container.ts";

export const ADMIN_TOKEN = "test-admin-token-0123456789";

/** A platform on SQLite files in a fresh temp dir (the embedded default), with its API for app.inject. */
export async function testApp(env: Record<string, string> = {}, gateway: Partial<GatewayOptions> = {}) {
  const dataDir = env.DATA_DIR ?? mkdtempSync(join(tmpdir(), "aggregator-"));
  const config = loadConfig({ DATA_DIR: dataDir, ADMIN_TOKEN, LOG_LEVEL: "silent", ...env });
  const platform = await createPlatform(config, { onProjectorError: (e) => console.error("projector", e) });
  const app = await buildApp(platform, { gateway });
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  return {
    app,
    platform,
    dataDir,
    admin,
    bearer: (token: string) => ({ authorization: `Bearer ${token}` }),
    async close(removeData = true) {
      await app.close();
      await platform.close();
      if (removeData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export type TestApp = Awaited<ReturnType<typeof testApp>>;
