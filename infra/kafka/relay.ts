// The relay: a catch-up subscription on $all (the event store is the outbox, no dual write) that
// publishes ai_usage and transaction_created to the topic.
//
// Guarantees:
// - at-least-once: a failed send is retried with the same batch, forever, with capped exponential
//   backoff; nothing is skipped. A lost ack, a crash or an abort between ack and checkpoint
//   re-publishes, so consumers dedupe on ce_id.
// - in order: batches are sent one at a time, in position order, from a single loop.
// - the checkpoint `{_id: "relay:<topic>", _position}` is written only after the broker acknowledged
//   every relayed event at or below that position; it is never ahead of what was delivered.
import type { EventStore } from "../../domain/event-store.ts";
import { RELAYED_EVENT_TYPES, type RecordedEvent } from "../../domain/events.ts";
import type { Collection } from "../../projections/read-store.ts";
import type { EventPublisher } from "./publisher.ts";

export interface RelayLogger {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
}

export interface RelayStats {
  /** records acknowledged by the broker, re-sends included */
  published: number;
  batches: number;
  sendFailures: number;
  subscriptionErrors: number;
  /** last checkpointed position: everything relayed at or below it is acknowledged */
  lastPosition: number;
}

export interface RelayOptions {
  store: EventStore;
  checkpoints: Collection;
  producer: EventPublisher;
  signal: AbortSignal;
  batchSize?: number;
  /** flush a partial batch when no event arrived for this long */
  lingerMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  log?: RelayLogger;
  /** pass the same object across restarts to keep counting */
  stats?: RelayStats;
}

export interface Relay {
  readonly stats: RelayStats;
  /** resolves after the signal aborted; never rejects. An unacknowledged send is re-sent next start. */
  readonly done: Promise<void>;
}

const relayed = new Set<string>(RELAYED_EVENT_TYPES);
export const relayCheckpointId = (topic: string) => `relay:${topic}`;
export const newRelayStats = (): RelayStats => ({
  published: 0,
  batches: 0,
  sendFailures: 0,
  subscriptionErrors: 0,
  lastPosition: 0,
});

/** resolves after `ms`, or early (never rejects) when the signal aborts */
const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });

export function runRelay(options: RelayOptions): Relay {
  const { store, checkpoints, producer, signal, log } = options;
  const batchSize = options.batchSize ?? 200;
  const lingerMs = options.lingerMs ?? 5;
  const { initialMs, maxMs } = options.backoff ?? { initialMs: 100, maxMs: 30_000 };
  const stats = options.stats ?? newRelayStats();
  const checkpointId = relayCheckpointId(producer.topic);
  const aborted = new Promise<void>((resolve) =>
    signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true }),
  );

  /** sends until acknowledged (or aborted), then checkpoints `upTo`; never rejects */
  async function deliver(batch: RecordedEvent[], upTo: number): Promise<void> {
    for (let attempt = 0; batch.length > 0; attempt++) {
      if (signal.aborted) return;
      try {
        // Racing the abort keeps shutdown prompt; a send that still succeeds later is a duplicate.
        const sent = producer.publish(batch).then(() => true);
        if (!(await Promise.race([sent, aborted.then(() => false)]))) return;
        stats.published += batch.length;
        stats.batches++;
        break;
      } catch (err) {
        stats.sendFailures++;
        const delay = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
        log?.warn({ err, attempt, delay, from: batch[0]?.position }, "relay: publish failed, retrying");
        await pause(delay, signal);
      }
    }
    if (upTo <= stats.lastPosition) return;
    try {
      await checkpoints.put({ _id: checkpointId, _position: upTo });
      stats.lastPosition = upTo;
    } catch (err) {
      // A stale checkpoint only means more re-sends after a restart; the next batch writes it again.
      log?.warn({ err, upTo }, "relay: checkpoint write failed");
    }
  }

  async function loop(): Promise<void> {
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        stats.lastPosition = (await checkpoints.get(checkpointId))?._position ?? 0;
        break;
      } catch (err) {
        const delay = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
        log?.warn({ err, delay }, "relay: cannot read the checkpoint, retrying");
        await pause(delay, signal);
      }
    }
    if (signal.aborted) return;
    log?.info({ topic: producer.topic, from: stats.lastPosition }, "relay: started");
    let chain = Promise.resolve();
    for (let attempt = 0; !signal.aborted; attempt++) {
      let batch: RecordedEvent[] = [];
      let scanned = 0;
      let upTo = stats.lastPosition;
      let timer: NodeJS.Timeout | undefined;
      const flush = () => {
        clearTimeout(timer);
        timer = undefined;
        const taken = batch;
        const position = upTo;
        batch = [];
        scanned = 0;
        chain = chain.then(() => deliver(taken, position));
        return chain;
      };
      try {
        // Resume after the last acknowledged position; a dropped subscription re-reads from here.
        for await (const event of store.subscribeToAll(stats.lastPosition, signal)) {
          attempt = 0;
          upTo = event.position;
          scanned++;
          if (relayed.has(event.type)) batch.push(event);
          if (batch.length >= batchSize || scanned >= batchSize * 4) {
            await flush(); // backpressure: at most one batch in flight and one being filled
          } else {
            clearTimeout(timer);
            timer = setTimeout(() => void flush(), lingerMs); // the chain is awaited by the next flush
          }
        }
        if (!signal.aborted) throw new Error("subscription ended before the signal aborted");
      } catch (err) {
        clearTimeout(timer); // the unsent tail is re-read from the last checkpoint
        if (signal.aborted) break;
        stats.subscriptionErrors++;
        const delay = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
        log?.warn({ err, delay, from: stats.lastPosition }, "relay: subscription failed, resubscribing");
        await chain;
        await pause(delay, signal);
      }
      clearTimeout(timer);
      await chain;
    }
    await chain;
    log?.info({ lastPosition: stats.lastPosition, published: stats.published }, "relay: stopped");
  }

  return { stats, done: loop() };
}
