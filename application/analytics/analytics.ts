import { randomUUID } from "node:crypto";
import { analyticsDecider, type AnalyticsCommand } from "../../domain/analytics.ts";
import { analyticsStream } from "../../domain/events.ts";
import type { CommandContext } from "../commands/command-handler.ts";
import type { Platform } from "../platform.ts";

export interface TrackEventInput {
  name: string;
  userId?: string;
  properties: Record<string, unknown>;
  timestamp?: string;
}

export async function trackAnalyticsEvent(p: Platform, ctx: CommandContext, input: TrackEventInput) {
  const command: AnalyticsCommand = {
    type: "trackAnalyticsEvent",
    data: { name: input.name, properties: input.properties, timestamp: input.timestamp ?? ctx.now, ...(input.userId ? { userId: input.userId } : {}) },
    now: ctx.now,
  };
  const r = await p.commands.handle(analyticsStream(input.userId), analyticsDecider, command, ctx);
  return { eventId: r.events[0]?.metadata.eventId ?? randomUUID(), accepted: true, position: r.position };
}
