import { InvalidArgumentError, Option, type Command } from "commander";
import type { RecordedEvent } from "../../domain/events.ts";
import {
  csvHeader,
  formatPage,
  fromEventLine,
  type EventLine,
  type ReplayFormat,
  type ReplayPage,
} from "../../application/replay/event-format.ts";
import { storeNdjsonChunks, type ReplayChunk } from "../../application/replay/ndjson-replay.ts";
import { isEventType, storeEventPages, type EventFilter } from "../../application/replay/replay.ts";
import { topicEventPages } from "../../application/replay/topic-replay.ts";
import { TOKENS } from "../composition/container.ts";
import { adminTokenFor, apiNdjsonChunks } from "./api-replay.ts";
import { count, CliError, eventStore, EXIT, instant, interruptSignal, openRoot, seconds, writeOutput, type Run } from "./io.ts";
import { createProgress } from "./progress.ts";

interface ReplayOptions {
  source: "store" | "kafka" | "api";
  fromBeginning?: true;
  fromTime?: string;
  fromPosition?: number;
  toTime?: string;
  types?: string[];
  user?: string;
  format: ReplayFormat;
  out?: string;
  follow?: boolean;
  limit?: number;
  brokers?: string;
  topic?: string;
  url?: string;
}

function eventTypes(value: string): string[] {
  const types = value
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
  const unknown = types.filter((t) => !isEventType(t));
  if (unknown.length > 0) throw new InvalidArgumentError(`Unknown event type ${unknown.join(", ")}.`);
  return types;
}

export function replayCommand(program: Command, run: Run) {
  program
    .command("replay")
    .summary("write events from the event store or the Kafka topic as NDJSON/CSV")
    .description("Write a slice of the event history as NDJSON or CSV, ordered by global position (store) or per account (topic).")
    .addOption(
      new Option(
        "--source <source>",
        "store: the event store; kafka: the topic (KAFKA_BROKERS, KAFKA_TOPIC; it holds ai_usage and transaction_created only; no offsets are committed); api: a running server's GET /events (--url; ADMIN_TOKEN or DATA_DIR/admin-token), which leaves the server's files alone",
      )
        .choices(["store", "kafka", "api"])
        .default("store"),
    )
    .addOption(new Option("--from-beginning", "start at the first event (default)").conflicts(["fromTime", "fromPosition"]))
    .addOption(new Option("--from-time <T>", "events with occurredAt >= T").argParser(instant).conflicts("fromPosition"))
    .addOption(new Option("--from-position <P>", "events after global position P").argParser(count))
    .addOption(new Option("--to-time <T>", "events with occurredAt < T").argParser(instant))
    .addOption(new Option("--types <a,b>", "event types").argParser(eventTypes))
    .option("--user <U>", "events of one user (data.userId)")
    .addOption(new Option("--format <format>", "line format").choices(["ndjson", "csv"]).default("ndjson"))
    .option("--out <FILE>", "write to FILE instead of stdout")
    .option("--follow", "keep tailing new events until Ctrl-C")
    .addOption(new Option("--limit <N>", "stop after N events").argParser(count))
    .option("--brokers <H:P>", "override KAFKA_BROKERS for --source kafka")
    .option("--topic <T>", "override KAFKA_TOPIC for --source kafka")
    .option("--url <URL>", "the server for --source api (default http://HOST:PORT)")
    .addHelpText("after", "\nTimes are ISO-8601 (or epoch ms). A progress line with rate and ETA goes to stderr when it is a terminal.")
    .action((options: ReplayOptions) => run(() => replay(options)));
}

/** formatted chunks of parsed pages, cut at `limit` */
async function* chunksOf(
  pages: AsyncIterable<RecordedEvent[] | ReplayPage>,
  format: ReplayFormat,
  limit: number,
): AsyncGenerator<ReplayChunk> {
  let left = limit;
  for await (const page of pages) {
    const events = Array.isArray(page) ? page : page.events;
    const taken = events.length > left ? events.slice(0, left) : page;
    const count = Array.isArray(taken) ? taken.length : events.length;
    yield { count, text: formatPage(taken, format) };
    if ((left -= count) <= 0) return;
  }
}

/** NDJSON chunks as pages of events (for CSV) */
async function* linesAsEvents(chunks: AsyncIterable<ReplayChunk>): AsyncGenerator<RecordedEvent[]> {
  for await (const chunk of chunks)
    yield chunk.text
      .split("\n")
      .filter(Boolean)
      .map((line) => fromEventLine(JSON.parse(line) as EventLine));
}

async function replay(options: ReplayOptions): Promise<number> {
  const filter: EventFilter = {
    types: options.types,
    userId: options.user,
    after: options.fromPosition,
    from: options.fromTime,
    to: options.toTime,
  };
  const { format } = options;
  const follow = options.follow === true;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const root = openRoot({
    ...(options.brokers ? { KAFKA_BROKERS: options.brokers } : {}),
    ...(options.topic ? { KAFKA_TOPIC: options.topic } : {}),
  });
  const cfg = root.config;
  const signal = interruptSignal();
  const progress = createProgress(`replay ${options.source}`);
  const started = Date.now();
  let chunks: AsyncIterable<ReplayChunk>;
  if (options.source === "store") {
    const store = await eventStore(root);
    const after = filter.after ?? 0;
    const paging = {
      follow,
      signal,
      onPage: (p: { position: number; head: number; matched: number }) =>
        progress.update(p.position - after, follow ? undefined : p.head - after, `${p.matched} matched`),
    };
    chunks =
      format === "ndjson"
        ? storeNdjsonChunks(store, filter, { ...paging, limit })
        : chunksOf(storeEventPages(store, filter, paging), format, limit);
  } else if (options.source === "api") {
    const api = { url: options.url ?? `http://${cfg.HOST}:${cfg.PORT}`, token: adminTokenFor(cfg), follow, limit, signal };
    const ndjson = apiNdjsonChunks(filter, api);
    chunks = format === "ndjson" ? ndjson : chunksOf(linesAsEvents(ndjson), format, limit);
  } else {
    if (!cfg.KAFKA_BROKERS) throw new CliError("--source kafka needs KAFKA_BROKERS (or --brokers host:port)");
    const { pages } = await topicEventPages(root.resolve(TOKENS.openTopic), filter, {
      follow,
      signal,
      onBatch: (p) => progress.update(p.read, follow ? undefined : p.total, `${p.matched} matched, ${p.duplicates} duplicates`),
    });
    chunks = chunksOf(pages, format, limit);
  }
  let written = 0;
  async function* text() {
    if (format === "csv") yield csvHeader();
    for await (const chunk of chunks) {
      written += chunk.count;
      yield chunk.text;
    }
  }
  try {
    await writeOutput(text(), options.out);
  } finally {
    progress.stop();
    await root.close();
  }
  const where = options.out ? ` to ${options.out}` : "";
  process.stderr.write(`replayed ${written} events${where} in ${seconds(Date.now() - started)}${signal.aborted ? " (stopped)" : ""}\n`);
  return signal.aborted && !follow ? EXIT.interrupted : EXIT.ok;
}
