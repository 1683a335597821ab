// CSV (RFC 4180: CRLF, fields with , " CR LF quoted, quotes doubled). A text cell that a spreadsheet
// would run as a formula (= + - @ tab CR first) gets a leading apostrophe: model ids are user input.
// Free of DOM types: the unit tests run it in Node.

export type Cell = string | number;

const FORMULA = /^[=+\-@\t\r]/;

export function csvCell(value: Cell): string {
  let text = String(value);
  if (typeof value === "string" && FORMULA.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const toCsv = (header: string[], rows: Cell[][]) => [header, ...rows].map((r) => r.map(csvCell).join(",")).join("\r\n") + "\r\n";

export interface ReportRow {
  day: string;
  provider: string;
  model: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  tokens: number;
  cost: string;
}

export const REPORT_COLUMNS = ["day", "provider", "model", "requests", "promptTokens", "completionTokens", "tokens", "cost"] as const;

/** the usage report's day × provider × model rows, exactly as the API gave them (cost: decimal USD) */
export const reportCsv = (rows: ReportRow[]) =>
  toCsv(
    [...REPORT_COLUMNS],
    rows.map((r) => REPORT_COLUMNS.map((c) => r[c])),
  );
