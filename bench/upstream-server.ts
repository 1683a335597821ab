// The upstream fixture as its own process for bench/gateway.ts: plain answers at once; streams of
// STREAM_CHUNKS content chunks, CHUNK_DELAY_MS apart, with the usage chunk when asked (as OpenAI does).
// Prints `{"url": ...}` on one line once listening; stops on SIGTERM.
import { startUpstreamFixture } from "../test/fixtures/upstream-fixture.ts";

const chunks = Number(process.env.STREAM_CHUNKS ?? 50);
const delay = Number(process.env.CHUNK_DELAY_MS ?? 20);
const content = Array.from({ length: chunks }, (_, i) => (i === 0 ? "tok" : " tok"));

const fixture = await startUpstreamFixture((r) => (r.body?.stream === true ? { content, chunkDelayMs: delay } : {}), {
  port: Number(process.env.PORT ?? 0),
  record: false,
});
console.log(JSON.stringify({ url: fixture.url }));

const stop = async () => {
  await fixture.close();
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
