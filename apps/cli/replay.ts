import { parseArgs } from "node:util";
import type { RecordedEvent } from "../../domain/events.ts";
import { csvHeader, formatPage, fromEventLine, type EventLine, type ReplayFormat, type ReplayPage } from "../shared/event-format.ts";
import { storeNdjsonChunks, type ReplayChunk } from "../shared/ndjson-replay.ts";
import { isEventType, storeEventPages, type EventFilter } from "../shared/replay.ts";
import { topicEventPages } from "../shared/topic-replay.ts";
import { adminTokenFor, apiNdjsonChunks } from "./api-replay.ts";
import { CliError, config, eventStore, EXIT, interruptSignal, openOutput, parseCount, parseInstant, seconds } from "./io.ts";
import { createProgress } from "./progress.ts";

export const REPLAY_HELP = `aggregator replay: write a slice of the event history as NDJSON or CSV

  --source S              store: the event store (default); kafka: the topic (KAFKA_BROKERS, KAFKA_TOPIC;
                          it holds ai_usage and transaction_created only; no offsets are committed);
                          api: a running server's GET /events (--url, default http://HOST:PORT; ADMIN_TOKEN
                          or DATA_DIR/admin-token), which leaves the server's files alone
  --from-beginning        (default) | --from-time T (occurredAt >= T) | --from-position P (position > P)
  --to-time T             occurredAt < T
  --types a,b             event types            --user U      events of one user (data.userId)
  --format ndjson|csv     default ndjson         --out FILE    default stdout
  --follow                keep tailing new events until Ctrl-C
  --limit N               stop after N events
  --brokers H:P --topic T override KAFKA_BROKERS / KAFKA_TOPIC for --source kafka
  --url URL               the server for --source api
Times are ISO-8601 (or epoch ms). Lines are ordered by global position (store) or per account (topic).
A progress line with rate and ETA goes to stderr when it is a terminal.`;

/** formatted chunks of parsed pages, cut at `limit` */
async function* chunksOf(pages: AsyncIterable<RecordedEvent[] | ReplayPage>, format: ReplayFormat, limit: number): AsyncGenerator<ReplayChunk> {
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
  for await (const chunk of chunks) yield chunk.text.split("\n").filter(Boolean).map((line) => fromEventLine(JSON.parse(line) as EventLine));
}

export async function replayCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      source: { type: "string", default: "store" },
      "from-beginning": { type: "boolean" },
      "from-time": { type: "string" },
      "from-position": { type: "string" },
      "to-time": { type: "string" },
      types: { type: "string" },
      user: { type: "string" },
      format: { type: "string", default: "ndjson" },
      out: { type: "string" },
      follow: { type: "boolean", default: false },
      limit: { type: "string" },
      brokers: { type: "string" },
      topic: { type: "string" },
      url: { type: "string" },
    },
    strict: true,
  });
  const starts = ["from-beginning", "from-time", "from-position"].filter((k) => values[k as keyof typeof values] !== undefined);
  if (starts.length > 1) throw new CliError(`choose one of --${starts.join(", --")}`);
  if (!["store", "kafka", "api"].includes(values.source!)) throw new CliError(`--source must be store, kafka or api, not "${values.source}"`);
  if (values.format !== "ndjson" && values.format !== "csv") throw new CliError(`--format must be ndjson or csv, not "${values.format}"`);
  const types = values.types?.split(",").map((t) => t.trim()).filter(Boolean);
  const unknown = types?.filter((t) => !isEventType(t)) ?? [];
  if (unknown.length > 0) throw new CliError(`--types: unknown event type ${unknown.join(", ")}`);
  const filter: EventFilter = {
    types,
    userId: values.user,
    after: parseCount("--from-position", values["from-position"]),
    from: parseInstant("--from-time", values["from-time"]),
    to: parseInstant("--to-time", values["to-time"]),
  };
  const format = values.format as ReplayFormat;
  const limit = parseCount("--limit", values.limit) ?? Number.POSITIVE_INFINITY;
  const cfg = config();
  const signal = interruptSignal();
  const progress = createProgress(`replay ${values.source}`);
  const started = Date.now();
  let chunks: AsyncIterable<ReplayChunk>;
  let close = async () => {};
  if (values.source === "store") {
    const store = await eventStore(cfg);
    close = () => store.close();
    const after = filter.after ?? 0;
    const options = {
      follow: values.follow, signal,
      onPage: (p: { position: number; head: number; matched: number }) => progress.update(p.position - after, values.follow ? undefined : p.head - after, `${p.matched} matched`),
    };
    chunks = format === "ndjson" ? storeNdjsonChunks(store, filter, { ...options, limit }) : chunksOf(storeEventPages(store, filter, options), format, limit);
  } else if (values.source === "api") {
    const api = { url: values.url ?? `http://${cfg.HOST}:${cfg.PORT}`, token: adminTokenFor(cfg), follow: values.follow, limit, signal };
    const ndjson = apiNdjsonChunks(filter, api);
    chunks = format === "ndjson" ? ndjson : chunksOf(linesAsEvents(ndjson), format, limit);
  } else {
    const brokers = values.brokers ?? cfg.KAFKA_BROKERS;
    if (!brokers) throw new CliError("--source kafka needs KAFKA_BROKERS (or --brokers host:port)");
    const topic = values.topic ?? cfg.KAFKA_TOPIC;
    const { pages } = await topicEventPages(filter, {
      brokers: brokers.split(","), topic, follow: values.follow, signal,
      onBatch: (p) => progress.update(p.read, values.follow ? undefined : p.total, `${p.matched} matched, ${p.duplicates} duplicates`),
    });
    chunks = chunksOf(pages, format, limit);
  }
  const out = openOutput(values.out);
  let written = 0;
  try {
    if (format === "csv") await out.write(csvHeader());
    for await (const chunk of chunks) {
      await out.write(chunk.text);
      written += chunk.count;
    }
  } finally {
    progress.stop();
    await out.close();
    await close();
  }
  const where = values.out ? ` to ${values.out}` : "";
  process.stderr.write(`replayed ${written} events${where} in ${seconds(Date.now() - started)}${signal.aborted ? " (stopped)" : ""}\n`);
  return signal.aborted && !values.follow ? EXIT.interrupted : EXIT.ok;
}
