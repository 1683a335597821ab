// `npm run fixture`: the local OpenAI-compatible upstream the tests use (upstream-fixture.ts), as a
// process on 127.0.0.1:FIXTURE_PORT (default 8090), so the gateway can be tried without a provider key
// (the README's first session): OPENAI_BASE_URL=http://127.0.0.1:8090/openai/v1 and any OPENAI_API_KEY.
// Every chat completion answers "Hello from fixture" (12 prompt + 3 completion tokens); nothing is recorded.
import { startUpstreamFixture } from "./upstream-fixture.ts";

const port = Number(process.env.FIXTURE_PORT ?? 8090);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid FIXTURE_PORT: ${process.env.FIXTURE_PORT}`);
  process.exit(2);
}
const fixture = await startUpstreamFixture(() => undefined, { port, record: false });
console.log(`upstream fixture: OPENAI_BASE_URL=${fixture.baseUrl("openai")} OPENROUTER_BASE_URL=${fixture.baseUrl("openrouter")}`);
const stop = () => void fixture.close().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
