import { register } from "tsx/esm/api";
const t0 = performance.now();
try { await import("./w.ts"); console.log("native ok"); }
catch (e) { console.log("first import failed:", e.code, e.message); register(); try { await import("./w.ts?x=1"); } catch (e2) { console.log("second failed", e2.code, e2.message); throw e2; } console.log("registered in", (performance.now()-t0).toFixed(1), "ms"); }
