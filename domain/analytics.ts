import { streamId, type Command, type Decider, type FoldableEvent } from "./decider.ts";
import { invalid } from "./errors.ts";
import type { AnalyticsEvent } from "./events.ts";

// Streams `analytics-{userId}` and `analytics-anonymous`. No invariants across events: the decider only
// keeps each event on its user's stream; the name, properties (size included) and timestamp are checked
// at the edge (apps/api/routes/analytics.ts), so any event that reaches it is accepted (the API answers 202).

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
      const { userId, properties = {}, timestamp = command.now } = data;
      if ((userId ?? "anonymous") !== state.owner) {
        throw invalid("ANALYTICS.STREAM_MISMATCH", `event for ${userId ?? "an anonymous user"} sent to analytics-${state.owner}`);
      }
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
