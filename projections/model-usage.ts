import { addToTotal } from "../domain/money.ts";
import type { ReadStore, Doc } from "./read-store.ts";
import { dayOf, stamp, type Projection } from "./projection.ts";

/** usage per day × model over all accounts: the dashboard's top models, a few documents per day */
export interface ModelDayDoc extends Doc {
  day: string;
  model: string;
  requests: number;
  tokens: number;
  /** micro-USD as a decimal string (domain/money.ts `totalOf`): exact at any size */
  cost: string;
}

export const modelUsageProjection: Projection<ModelDayDoc, "ai_usage"> = {
  name: "model-usage",
  collection: "model_daily",
  handles: ["ai_usage"],
  ids: (event) => [`${dayOf(event.data.timestamp)}|${event.data.model}`],
  evolve(doc, event, id) {
    const u = event.data;
    const base = doc ?? { ...stamp(id, event), day: dayOf(u.timestamp), model: u.model, requests: 0, tokens: 0, cost: "0" };
    return {
      ...base,
      ...stamp(id, event),
      requests: base.requests + 1,
      tokens: base.tokens + u.tokens,
      cost: addToTotal(base.cost, u.cost),
    };
  },
  indexes: [["day"]],
};

/** the days `fromDay`..`toDay` (inclusive), every model */
export const modelDays = (reads: ReadStore, fromDay: string, toDay: string) =>
  reads.collection<ModelDayDoc>(modelUsageProjection.collection).find({ day: { gte: fromDay, lte: toDay } });
