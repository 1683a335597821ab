import { Worker } from "node:worker_threads";
for (const f of ["./plain.mjs", "./w.mjs", "./plain.mjs", "./w.mjs"]) {
  const t0 = performance.now();
  const w = new Worker(new URL(f, import.meta.url));
  await new Promise((r) => w.once("message", r));
  console.log(f, (performance.now() - t0).toFixed(1), "ms");
  await w.terminate();
}
