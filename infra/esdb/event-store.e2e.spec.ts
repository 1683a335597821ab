import { GenericContainer, ImageName, Wait, getContainerRuntimeClient } from "testcontainers";
import { beforeAll, describe } from "vitest";
import type { EventStore } from "../../domain/event-store.ts";
import { eventStoreContract } from "../event-store.contract.ts";
import { openEsdbEventStore } from "./event-store.ts";

// Runs the shared EventStore contract against a real EventStoreDB:
// - ESDB_URL set (e.g. esdb://localhost:2113?tls=false): that server, shared by every test;
// - else, when a Docker engine answers: a fresh insecure `--mem-db` node PER TEST through
//   testcontainers (the contract expects an empty store in each test: headPosition() is 0 and
//   readAll() holds only that test's events). ESDB_IMAGE overrides the image (arm64, KurrentDB);
// - else the suite is skipped with one line (this CI machine has neither).

const IMAGE = process.env.ESDB_IMAGE ?? "eventstore/eventstore:24.10";
const ESDB_URL = process.env.ESDB_URL;

async function dockerAnswers(): Promise<boolean> {
  try {
    await getContainerRuntimeClient(); // honours DOCKER_HOST, ~/.testcontainers.properties, rootless sockets
    return true;
  } catch {
    return false;
  }
}

const docker = !ESDB_URL && (await dockerAnswers());
if (!ESDB_URL && !docker) console.log("EventStoreDB suite not run: ESDB_URL unset and no Docker engine");

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
  if (ESDB_URL) return { url: ESDB_URL, stop: async () => undefined };
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

  eventStoreContract(ESDB_URL ? "EventStoreDB (ESDB_URL)" : `EventStoreDB ${IMAGE} (testcontainers)`, async () => {
    const server = await startServer();
    const opened: EventStore[] = [];
    const open = () => {
      const store = openEsdbEventStore(server.url);
      opened.push(store);
      return store;
    };
    return {
      store: open(),
      reopen: async () => open(), // same server, new client: the data is the server's
      cleanup: async () => {
        await Promise.allSettled(opened.map((s) => s.close()));
        await server.stop();
      },
    };
  });
});
