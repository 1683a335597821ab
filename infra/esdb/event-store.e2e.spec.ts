import { GenericContainer, ImageName, Wait, getContainerRuntimeClient } from "testcontainers";
import { afterAll, beforeAll, describe } from "vitest";
import type { EventStore } from "../../domain/event-store.ts";
import { engineUrl } from "../../test/engines/require-engine.ts";
import { eventStoreContract } from "../../test/contracts/event-store.contract.ts";
import { openEsdbEventStore } from "./event-store.ts";

// Runs the shared EventStore contract against a real EventStoreDB:
// - ESDB_URL set (e.g. esdb://localhost:2113?tls=false): that server, which may already hold
//   events, through ONE client for the whole suite (the contract prefixes its stream names per
//   test and reads $all only after the head it finds at the start of each test);
// - else, with ESDB_TESTCONTAINERS=1 (for those who have a Docker engine): a fresh insecure
//   `--mem-db` node PER TEST through testcontainers. ESDB_IMAGE overrides the image (arm64, KurrentDB);
// - else the suite is skipped with one "[skip] esdb: …" line, and fails when REQUIRE_ENGINES names
//   esdb. Whether Docker answers never decides it: CI must not skip it silently.
// Both set `uniqueEventIds: false`: the server does not reject an event id reused at a stream's
// current revision or in another stream (see the contract).

const IMAGE = process.env.ESDB_IMAGE ?? "eventstore/eventstore:24.10";
const docker = process.env.ESDB_TESTCONTAINERS === "1";
const ESDB_URL = docker ? undefined : engineUrl("esdb", "ESDB_URL");

interface Server {
  url: string;
  stop: () => Promise<void>;
}

/** waits until the node answers reads ($all needs a leader; /health/live can come first) */
async function untilReady(url: string, timeoutMs = 60_000): Promise<void> {
  const probe = openEsdbEventStore(url);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await probe.headPosition();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  } finally {
    await probe.close();
  }
}

async function startServer(): Promise<Server> {
  const container = await new GenericContainer(IMAGE)
    .withEnvironment({
      EVENTSTORE_INSECURE: "true",
      EVENTSTORE_RUN_PROJECTIONS: "None",
      EVENTSTORE_MEM_DB: "true",
      EVENTSTORE_CLUSTER_SIZE: "1",
    })
    .withExposedPorts(2113)
    .withWaitStrategy(Wait.forHttp("/health/live", 2113).forStatusCodeMatching((s) => s >= 200 && s < 300))
    .withStartupTimeout(120_000)
    .start();
  const url = `esdb://${container.getHost()}:${container.getMappedPort(2113)}?tls=false`;
  const stop = async () => void (await container.stop());
  try {
    await untilReady(url);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, stop };
}

describe.skipIf(!ESDB_URL && !docker)("EventStoreDB adapter", () => {
  // Pull once, outside the per-test hook timeout (the first pull can take minutes).
  beforeAll(async () => {
    if (docker) await (await getContainerRuntimeClient()).image.pull(ImageName.fromString(IMAGE));
  }, 600_000);

  // ESDB_URL: the suite's one client, opened by the first test and disposed after the last.
  let shared: EventStore | undefined;
  afterAll(async () => shared?.close());

  eventStoreContract(ESDB_URL ? "EventStoreDB (ESDB_URL)" : `EventStoreDB ${IMAGE} (testcontainers)`, async () => {
    const server: Server = ESDB_URL ? { url: ESDB_URL, stop: async () => undefined } : await startServer();
    const opened: EventStore[] = [];
    const open = () => {
      const store = openEsdbEventStore(server.url);
      opened.push(store);
      return store;
    };
    // a test's close() (the restart test) must not dispose the suite's client
    const store = ESDB_URL ? { ...(shared ??= openEsdbEventStore(ESDB_URL)), close: async () => undefined } : open();
    return {
      store,
      reopen: async () => open(), // same server, new client: the data is the server's
      cleanup: async () => {
        await Promise.allSettled(opened.map((s) => s.close()));
        await server.stop();
      },
      uniqueEventIds: false,
      usedIds: false,
    };
  });
});
