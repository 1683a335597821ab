import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../infra/config.ts";
import { compose, TOKENS, type ComposeOptions } from "../../apps/composition/container.ts";

export const ADMIN_TOKEN = "test-admin-token-0123456789";

/**
 * The API as `npm start` composes it, on SQLite files in a fresh temp dir (the embedded default), for
 * app.inject; `options` as for the composition root (a fixed clock, shorter gateway timeouts, a log sink).
 */
export async function testApp(env: Record<string, string> = {}, options: ComposeOptions = {}) {
  const dataDir = env.DATA_DIR ?? mkdtempSync(join(tmpdir(), "aggregator-"));
  const config = loadConfig({ DATA_DIR: dataDir, ADMIN_TOKEN, LOG_LEVEL: "silent", ...env });
  const root = compose(config, options);
  const app = await root.resolve(TOKENS.api);
  const platform = await root.resolve(TOKENS.platform);
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  return {
    app,
    platform,
    root,
    dataDir,
    admin,
    bearer: (token: string) => ({ authorization: `Bearer ${token}` }),
    async close(removeData = true) {
      await root.close();
      if (removeData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export type TestApp = Awaited<ReturnType<typeof testApp>>;
