import { streamId, type Command, type Decider, type FoldableEvent } from "./decider.ts";
import { invalid } from "./errors.ts";
import type { AnalyticsEvent } from "./events.ts";
import { canonicalJson } from "./hash-chain.ts";
import { isPlainObject, optionalText, requireInstant } from "./validate.ts";

// Streams `analytics-{userId}` and `analytics-anonymous`. No invariants across events: the decider only
// validates, so any event that passes is accepted (the API answers 202).

export const MAX_EVENT_NAME = 200;
/** size of the canonical JSON of `properties`: keeps one client from bloating the log */
export const MAX_PROPERTIES_BYTES = 16 * 1024;

export type TrackAnalyticsEvent = Command<
  "trackAnalyticsEvent",
  { name: string; userId?: string; properties?: Record<string, unknown>; timestamp?: string }
>;
export type AnalyticsCommand = TrackAnalyticsEvent;

export interface AnalyticsState {
  /** userId, or "anonymous" */
  owner: string;
  tracked: number;
}

export const initialAnalyticsState = (owner: string): AnalyticsState => ({ owner, tracked: 0 });

export function decideAnalytics(command: AnalyticsCommand, state: AnalyticsState): AnalyticsEvent[] {
  switch (command.type) {
    case "trackAnalyticsEvent": {
      const { data } = command;
      if (typeof data.name !== "string" || data.name.trim().length === 0 || data.name.length > MAX_EVENT_NAME) {
        throw invalid("ANALYTICS.INVALID_NAME", `name must be 1..${MAX_EVENT_NAME} characters`);
      }
      const userId = optionalText(data.userId, "userId");
      if ((userId ?? "anonymous") !== state.owner) {
        throw invalid("ANALYTICS.STREAM_MISMATCH", `event for ${userId ?? "an anonymous user"} sent to analytics-${state.owner}`);
      }
      const properties = data.properties ?? {};
      if (!isPlainObject(properties)) throw invalid("COMMAND.INVALID", "properties must be an object");
      let size: number;
      try {
        size = Buffer.byteLength(canonicalJson(properties));
      } catch {
        throw invalid("COMMAND.INVALID", "properties must be plain JSON (no NaN, Infinity or class instances)");
      }
      if (size > MAX_PROPERTIES_BYTES) throw invalid("COMMAND.INVALID", `properties must be at most ${MAX_PROPERTIES_BYTES} bytes of JSON`);
      const timestamp = data.timestamp ?? command.now;
      requireInstant(timestamp, "timestamp");
      requireInstant(command.now, "now");
      return [
        {
          type: "analytics_event_tracked",
          data: { name: data.name, ...(userId !== undefined ? { userId } : {}), properties, timestamp },
        },
      ];
    }
    default: {
      const unknown: never = command.type;
      throw invalid("COMMAND.UNKNOWN", `unknown analytics command ${String(unknown)}`);
    }
  }
}

/** Mutates `state` in place and returns it (see Decider.evolve). */
export function evolveAnalytics(state: AnalyticsState, event: FoldableEvent): AnalyticsState {
  if (event.type === "analytics_event_tracked") state.tracked += 1;
  return state;
}

/** Shaped for the command handler: initialState takes the stream name `analytics-{userId|anonymous}`. */
export const analyticsDecider: Decider<AnalyticsCommand, FoldableEvent, AnalyticsState> = {
  decide: decideAnalytics,
  evolve: evolveAnalytics,
  initialState: (stream) => initialAnalyticsState(streamId(stream, "analytics-")),
};
