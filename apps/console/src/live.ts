import { api, ApiError, call } from "./api.ts";
import { ndjsonSplitter } from "./ndjson.ts";
import { isAdmin } from "./session.ts";

// Live data. The operator's console tails the event log (GET /events?follow=true: NDJSON that stays
// open; fetch + ReadableStream, because EventSource cannot send an Authorization header) and resumes
// from the last position it saw when the connection drops. A user's key may not read the event log,
// so its views poll instead.

export interface EventLine {
  type: string;
  data: Record<string, unknown>;
  metadata: { eventId: string; occurredAt: string; prevHash?: string; hash?: string; [k: string]: unknown };
  streamName: string;
  revision: number;
  position: number;
}

export interface TailOptions {
  /** exclusive position to start after */
  after: number;
  types?: string[];
  userId?: string;
  signal: AbortSignal;
  onEvents(events: EventLine[]): void;
  /** `refused`: the API's refusal (an ApiError), not retried; `reconnecting`: why */
  onState?(state: "live" | "reconnecting" | "refused", problem?: unknown): void;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });

/** Tails the event log until the signal aborts; reconnects (from the last position seen) on failure. */
export async function tailEvents(options: TailOptions): Promise<void> {
  let after = options.after;
  for (let delay = 500; !options.signal.aborted; delay = Math.min(delay * 2, 10_000)) {
    try {
      const res = await call("/events", {
        query: { follow: true, after, types: options.types?.join(","), userId: options.userId },
        headers: { accept: "application/x-ndjson" },
        signal: options.signal,
      });
      options.onState?.("live");
      delay = 500;
      let batch: EventLine[] = [];
      const splitter = ndjsonSplitter((line) => batch.push(line as EventLine));
      const flush = () => {
        if (batch.length === 0) return;
        after = batch.at(-1)!.position;
        const events = batch;
        batch = [];
        options.onEvents(events);
      };
      const reader = res.body!.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) splitter.end();
        else splitter.push(value);
        flush();
        if (done) break;
      }
    } catch (error) {
      if (options.signal.aborted) return;
      if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
        options.onState?.("refused", error); // retrying would be refused the same way
        return;
      }
      options.onState?.("reconnecting", error);
    }
    if (!options.signal.aborted) options.onState?.("reconnecting", "the connection closed");
    await sleep(delay, options.signal);
  }
}

/** the event store's head position (public readiness probe) */
export const headPosition = async () => (await api<{ headPosition: number }>("/ready")).headPosition;

/**
 * Calls `onChange(position)` shortly after anything happens: for the operator on every new event (the
 * position lets the view ask the read models for `minPosition`, so it never shows data older than the
 * event it reacts to); for a user every few seconds. Returns the function that stops it.
 */
export function watchChanges(
  onChange: (position?: number) => void,
  onState?: (state: "live" | "reconnecting" | "refused" | "polling") => void,
  filter: { userId?: string } = {},
): () => void {
  const stop = new AbortController();
  if (!isAdmin()) {
    onState?.("polling");
    const timer = setInterval(() => onChange(), 5000);
    return () => clearInterval(timer);
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  let latest = 0;
  void headPosition()
    .then((after) =>
      tailEvents({
        after,
        ...filter,
        signal: stop.signal,
        onState,
        onEvents(events) {
          latest = events.at(-1)!.position;
          clearTimeout(timer);
          timer = setTimeout(() => onChange(latest), 250); // a burst of events: one refresh
        },
      }),
    )
    .catch(() => onState?.("reconnecting"));
  return () => {
    clearTimeout(timer);
    stop.abort();
  };
}
