import { describe, it } from "vitest";
import { analyticsDecider, type AnalyticsCommand } from "./analytics.ts";
import { deciderSpec } from "../test/harness/decider-spec.ts";

const NOW = "2025-03-01T12:00:00.000Z";
const track = (data: Partial<AnalyticsCommand["data"]>): AnalyticsCommand => ({
  type: "trackAnalyticsEvent",
  now: NOW,
  data: { name: "signup", userId: "u1", ...data },
});
const user = deciderSpec(analyticsDecider, "analytics-u1");
const anonymous = deciderSpec(analyticsDecider, "analytics-anonymous");

describe("trackAnalyticsEvent", () => {
  it("records the event, at the command time by default", () => {
    user
      .given()
      .when(track({ properties: { plan: "pro" } }))
      .then([{ type: "analytics_event_tracked", data: { name: "signup", userId: "u1", properties: { plan: "pro" }, timestamp: NOW } }]);
  });
  it("records anonymous events on the anonymous stream", () => {
    anonymous
      .given()
      .when(track({ userId: undefined, timestamp: "2025-02-01T00:00:00Z" }))
      .then([{ type: "analytics_event_tracked", data: { name: "signup", properties: {}, timestamp: "2025-02-01T00:00:00Z" } }]);
  });
  it("refuses an event sent to another user's stream", () => {
    user
      .given()
      .when(track({ userId: "u2" }))
      .thenThrows("ANALYTICS.STREAM_MISMATCH");
    anonymous
      .given()
      .when(track({ userId: "u1" }))
      .thenThrows("ANALYTICS.STREAM_MISMATCH");
  });
});
