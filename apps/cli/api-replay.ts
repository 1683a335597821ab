import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Config } from "../../infra/config.ts";
import type { ReplayChunk } from "../../application/replay/ndjson-replay.ts";
import type { EventFilter } from "../../application/replay/replay.ts";
import { CliError, EXIT } from "./io.ts";

// `aggregator replay --source api`: the event log from a running server's GET /events, as the admin,
// without touching its files; with --follow the response stays open (follow=true) and every event
// appended from then on arrives as it is written, the same tail the web console shows.

export interface ApiReplayOptions {
  url: string;
  token: string;
  follow: boolean;
  limit: number;
  signal: AbortSignal;
}

/** ADMIN_TOKEN, or the token `npm start` generated into DATA_DIR/admin-token */
export function adminTokenFor(cfg: Config): string {
  if (cfg.ADMIN_TOKEN) return cfg.ADMIN_TOKEN;
  const file = join(resolve(cfg.DATA_DIR), "admin-token");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  throw new CliError(`--source api needs the admin token: set ADMIN_TOKEN (or DATA_DIR to where ${file} is)`);
}

export async function* apiNdjsonChunks(filter: EventFilter, o: ApiReplayOptions): AsyncGenerator<ReplayChunk> {
  const query = new URLSearchParams();
  if (filter.types?.length) query.set("types", filter.types.join(","));
  for (const key of ["userId", "after", "from", "to"] as const) if (filter[key] !== undefined) query.set(key, String(filter[key]));
  if (Number.isFinite(o.limit)) query.set("limit", String(o.limit));
  if (o.follow) query.set("follow", "true");
  const url = `${o.url.replace(/\/+$/, "")}/events?${query}`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${o.token}`, accept: "application/x-ndjson" }, signal: o.signal });
  } catch (error) {
    if (o.signal.aborted) return;
    throw new CliError(`cannot reach ${o.url}: ${error instanceof Error ? error.message : error}`, EXIT.failed);
  }
  if (!res.ok) {
    const problem = (await res.json().catch(() => ({}))) as { detail?: string };
    throw new CliError(`GET /events answered ${res.status}: ${problem.detail ?? res.statusText}`, EXIT.failed);
  }
  const decoder = new TextDecoder();
  let rest = "";
  try {
    for await (const bytes of res.body as AsyncIterable<Uint8Array>) {
      const text = rest + decoder.decode(bytes, { stream: true });
      const cut = text.lastIndexOf("\n") + 1; // whole lines only: a line may span chunks
      rest = text.slice(cut);
      if (cut > 0) yield { count: text.slice(0, cut).split("\n").length - 1, text: text.slice(0, cut) };
    }
  } catch (error) {
    if (!o.signal.aborted)
      throw new CliError(`the stream from ${o.url} broke: ${error instanceof Error ? error.message : error}`, EXIT.failed);
  }
}
