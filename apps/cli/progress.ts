// A progress line on stderr with count, rate and ETA. Drawn only when stderr is a terminal, so pipes
// and log files never receive carriage returns; stdout (the data) is never touched.

export interface Progress {
  /** `done` of `total` units so far; total 0 or undefined = unknown (no bar, no ETA) */
  update(done: number, total?: number, note?: string): void;
  /** clears the line; the caller prints its own summary */
  stop(): void;
}

const WIDTH = 24;
const compact = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : String(Math.round(n)));
const clock = (seconds: number) => {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
};

export function progressLine(label: string, done: number, total: number | undefined, elapsedMs: number, unit: string): string {
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const speed = `${compact(rate)} ${unit}/s`;
  if (!total || total <= 0) return `${label} ${compact(done)} ${unit}  ${speed}`;
  const ratio = Math.min(1, done / total);
  const filled = Math.round(ratio * WIDTH);
  const eta = rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY;
  return (
    `${label} [${"#".repeat(filled)}${"-".repeat(WIDTH - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}% ` +
    `${compact(done)}/${compact(total)} ${unit}  ${speed}  ETA ${clock(eta)}`
  );
}

export function createProgress(label: string, unit = "events", stream: NodeJS.WriteStream = process.stderr): Progress {
  const started = Date.now();
  let last = 0;
  let drawn = false;
  if (!stream.isTTY) return { update() {}, stop() {} };
  return {
    update(done, total, note) {
      const now = Date.now();
      if (now - last < 100) return; // redraw at most 10 times a second
      last = now;
      const text = progressLine(label, done, total, now - started, unit) + (note ? `  ${note}` : "");
      stream.write(`\r\x1b[2K${text.slice(0, (stream.columns || 120) - 1)}`);
      drawn = true;
    },
    stop() {
      if (drawn) stream.write("\r\x1b[2K");
    },
  };
}
