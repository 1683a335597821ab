import { apiKeyProjection } from "./api-keys.ts";
import { balanceProjection } from "./balances.ts";
import { dashboardProjection } from "./dashboard.ts";
import { eventStatsProjection, totalsProjection } from "./event-stats.ts";
import { holdProjection } from "./holds.ts";
import { modelUsageProjection } from "./model-usage.ts";
import type { Projection } from "./projection.ts";
import type { ReadStore } from "./read-store.ts";
import { transactionProjection } from "./transactions.ts";
import { usageReportProjection } from "./usage-report.ts";

export const allProjections: Projection[] = [
  balanceProjection,
  transactionProjection,
  usageReportProjection,
  modelUsageProjection,
  dashboardProjection,
  apiKeyProjection,
  eventStatsProjection,
  totalsProjection,
  holdProjection,
];

/** documents per read-model collection */
export async function collectionStats(reads: ReadStore) {
  const names = [...new Set(allProjections.map((p) => p.collection))];
  return { collections: await Promise.all(names.map(async (name) => ({ name, documents: await reads.collection(name).count() }))) };
}
