import { Worker } from "node:worker_threads";
const t0 = performance.now();
const w = new Worker(new URL("./w.mjs", import.meta.url));
w.on("message", (m) => { console.log(m, (performance.now()-t0).toFixed(1), "ms"); w.terminate(); });
w.on("error", (e) => console.log("error", e.message));
