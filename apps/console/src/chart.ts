import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { h } from "./dom.ts";

// Time-series charts with uPlot: canvas, about 20 KB gzipped, draws thousands of points in a few ms.
// A chart is created once per view and fed new data with setData on each live refresh (recreating it
// would leak uPlot's window listeners and flicker). Legends render labels with textContent.

export interface Series {
  label: string;
  values: (number | null)[];
  axis?: "left" | "right";
  bars?: boolean;
}

export interface ChartOptions {
  left: (v: number) => string;
  right?: (v: number) => string;
  height?: number;
}

const PALETTE = ["#2563eb", "#16a34a", "#dc2626", "#d97706", "#7c3aed", "#0891b2", "#db2777"];
const css = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";

export class TimeChart {
  readonly el: HTMLElement;
  private readonly plot: HTMLDivElement;
  private readonly emptyNote: HTMLParagraphElement;
  private chart: uPlot | null = null;
  private labels = "";
  private readonly resize = new ResizeObserver(() => this.chart?.setSize({ width: this.width(), height: this.options.height ?? 220 }));

  constructor(
    title: string,
    private readonly options: ChartOptions,
  ) {
    this.plot = h("div", { class: "plot", role: "img", "aria-label": title });
    this.emptyNote = h("p", { class: "empty-note", hidden: true }, "No data in this range yet.");
    this.el = h("figure", { class: "chart" }, h("figcaption", null, title), this.plot, this.emptyNote);
    this.resize.observe(this.plot);
  }

  private width() {
    return Math.max(240, this.plot.clientWidth || this.el.clientWidth || 600);
  }

  /** `xs` in unix seconds */
  set(xs: number[], series: Series[]): void {
    const empty = xs.length === 0 || series.every((s) => s.values.every((v) => !v));
    this.emptyNote.hidden = !empty;
    this.plot.hidden = empty;
    // seconds between two x values: 3600 (hours) or 86400 (days: date ticks)
    const step = xs.length > 1 ? xs[1]! - xs[0]! : 86400;
    const labels = [step, ...series.map((s) => s.label)].join("\u0000");
    if (this.chart && labels !== this.labels) this.destroy(false);
    this.labels = labels;
    // a bar of zero is no bar (uPlot would draw a flat stroke for it)
    const data = [xs, ...series.map((s) => (s.bars ? s.values.map((v) => v || null) : s.values))] as uPlot.AlignedData;
    if (this.chart) return this.chart.setData(data);
    const grid = { stroke: css("--grid"), width: 1 };
    const days = step >= 86400;
    const axis = (format: (v: number) => string, side?: 1) => ({
      stroke: css("--muted"),
      grid,
      ticks: grid,
      size: 64,
      ...(side ? { side, scale: "right" } : {}),
      values: (_u: uPlot, ticks: number[]) => ticks.map(format),
    });
    this.chart = new uPlot(
      {
        width: this.width(),
        height: this.options.height ?? 220,
        cursor: { drag: { x: false, y: false } },
        // half a step of room at each end, so the first and last bars are drawn whole
        scales: {
          x: { time: true, range: (_u, min, max) => [min - step / 2, max + step / 2] },
          ...(this.options.right ? { right: {} } : {}),
        },
        axes: [
          {
            stroke: css("--muted"),
            grid,
            ticks: grid,
            space: 60,
            ...(days ? { values: (_u: uPlot, ticks: number[]) => ticks.map((t) => new Date(t * 1000).toISOString().slice(5, 10)) } : {}),
          },
          axis(this.options.left),
          ...(this.options.right ? [axis(this.options.right, 1 as const)] : []),
        ],
        series: [
          {
            label: "time",
            value: (_u, v) =>
              v === null
                ? "—"
                : new Date(v * 1000)
                    .toISOString()
                    .slice(0, days ? 10 : 16)
                    .replace("T", " "),
          },
          ...series.map((s, i) => ({
            label: s.label,
            stroke: PALETTE[i % PALETTE.length],
            fill: s.bars ? `${PALETTE[i % PALETTE.length]}99` : undefined,
            width: 2,
            scale: s.axis === "right" ? "right" : "y",
            value: (_u: uPlot, v: number | null) => (v === null ? "—" : (s.axis === "right" ? this.options.right! : this.options.left)(v)),
            points: { show: xs.length <= 2 }, // a lone point must be visible; a line of many needs no dots
            ...(s.bars ? { paths: uPlot.paths.bars!({ size: [0.7, 40] }), points: { show: false } } : {}),
          })),
        ],
      },
      data,
      this.plot,
    );
  }

  destroy(all = true): void {
    this.chart?.destroy();
    this.chart = null;
    if (all) this.resize.disconnect();
  }
}
