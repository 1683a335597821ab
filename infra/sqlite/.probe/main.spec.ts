import { it, expect } from "vitest";
import { Worker } from "node:worker_threads";
it("worker", async () => {
  const t0 = performance.now();
  const w = new Worker(new URL("./w.mjs", import.meta.url));
  const m = await new Promise((res, rej) => { w.on("message", res); w.on("error", rej); });
  console.log(m, performance.now() - t0);
  await w.terminate();
  expect(m).toMatch(/ok/);
});
