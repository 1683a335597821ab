// Relay wiring from already-built dependencies, for the composition root (apps/composition/container.ts),
// which `npm start` and `apps/relay/main.ts` resolve it from. Stop it by aborting `signal`, await `done`,
// then close the publisher and the stores (in that order: the relay may still write its checkpoint on
// the way out).
import { leased } from "../../application/cluster/lease.ts";
import type { EventStore } from "../../domain/event-store.ts";
import { checkpoints } from "../../projections/checkpoints.ts";
import type { ReadStore } from "../../projections/read-store.ts";
import type { KafkaPublisher } from "../../infra/kafka/publisher.ts";
import { newRelayStats, relayCheckpointId, runRelay, type Relay, type RelayLogger } from "../../infra/kafka/relay.ts";

export interface RelayDeps {
  store: EventStore;
  readStore: ReadStore;
  publisher: KafkaPublisher;
  signal: AbortSignal;
  log?: RelayLogger;
  batchSize?: number;
  /** this process became the topic's active relay (true) or stopped being it */
  onLease?: (held: boolean, epoch: number) => void;
}

export interface StartedRelay extends Relay {
  /** true when this start created the topic */
  readonly topicCreated: boolean;
}

const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

/**
 * Creates the topic (retrying while the broker is not reachable yet, until the signal aborts),
 * then runs the relay from its checkpoint while this process holds the topic's lease `relay:{topic}`
 * (application/cluster/lease.ts): one active relay per topic, a standby takes over when it dies.
 */
export async function startRelay(deps: RelayDeps): Promise<StartedRelay> {
  const { publisher, signal, log } = deps;
  let topicCreated = false;
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      topicCreated = await publisher.ensureTopic();
      log?.info({ topic: publisher.topic, created: topicCreated }, "relay: topic ready");
      break;
    } catch (err) {
      const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt, 10));
      log?.warn({ err, delay, topic: publisher.topic }, "relay: cannot create topic, retrying");
      await pause(delay, signal);
    }
  }
  const stats = newRelayStats();
  const lease = leased(deps.readStore, {
    name: relayCheckpointId(publisher.topic),
    onChange: deps.onLease,
    onError: (err) => log?.warn({ err }, "relay: lease"),
  });
  const done = lease(async (leaseSignal) => {
    const relay = runRelay({
      store: deps.store,
      checkpoints: checkpoints(deps.readStore),
      producer: publisher,
      signal: leaseSignal,
      batchSize: deps.batchSize,
      log,
      stats,
    });
    await relay.done;
  }, signal);
  return { stats, done, topicCreated };
}
