import { performance } from "node:perf_hooks";
import { startGatewayHarness } from "../apps/testing/gateway-harness.ts";
const h = await startGatewayHarness();
await h.fund("u1", "1000");
const { key } = await h.key("u1");
const handle = h.t.platform.commands.handle;
const times: Record<string, number[]> = {};
(h.t.platform.commands as any).handle = async (...args: any[]) => {
  const t0 = performance.now(); const r = await (handle as any)(...args);
  (times[args[2].type] ??= []).push(performance.now() - t0); return r;
};
const body = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], max_tokens: 64 });
const lat: number[] = []; const dlat: number[] = [];
for (let i = 0; i < 300; i++) {
  let t0 = performance.now();
  const r = await fetch(`${h.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body });
  await r.text(); lat.push(performance.now() - t0);
  t0 = performance.now();
  const d = await fetch(`${h.fixture.url}/openai/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body });
  await d.text(); dlat.push(performance.now() - t0);
}
const p = (a: number[], q: number) => a.slice().sort((x, y) => x - y)[Math.floor(a.length * q)]!.toFixed(2);
console.log("gateway p50", p(lat, .5), "p99", p(lat, .99), "direct p50", p(dlat, .5), p(dlat, .99));
for (const [k, v] of Object.entries(times)) console.log(k, "p50", p(v, .5), "p99", p(v, .99));
await h.close();
