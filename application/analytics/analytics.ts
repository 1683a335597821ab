import { randomUUID } from "node:crypto";
import type { CommandContext } from "../commands/command-handler.ts";
import type { Platform } from "../platform.ts";

export interface TrackEventInput {
  name: string;
  userId?: string;
  properties: Record<string, unknown>;
  timestamp?: string;
}

export async function trackAnalyticsEvent(p: Pick<Platform, "analytics">, ctx: CommandContext, input: TrackEventInput) {
  const data = {
    name: input.name,
    properties: input.properties,
    timestamp: input.timestamp ?? ctx.now,
    ...(input.userId ? { userId: input.userId } : {}),
  };
  const r = await p.analytics.handle(input.userId, { type: "trackAnalyticsEvent", data, now: ctx.now }, ctx);
  return { eventId: r.events[0]?.metadata.eventId ?? randomUUID(), accepted: true, position: r.position };
}
