/**
 * Line plots as SVG (platform-neutral; PNG through resvg in ./plots.ts): one polyline with dot markers per series, e.g.
 * error against NFE. Log axes plot log10 of the values (tick labels are then powers of ten's
 * exponents and the axis label says "log10").
 */
import { type Bounds, type LegendEntry, drawLegend, fitBounds } from "./axes.ts";
import { type ColorLike, PALETTE } from "./color.ts";
import { type PlotOptions, finishPlot, setupPlot } from "./render.ts";

/** One line: x and y of equal length; non-positive values are dropped on a log axis. */
export interface LineSeries {
  label?: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  color?: ColorLike;
}

export interface LinePlotOptions extends PlotOptions {
  /** Plot log10(x) (default false). */ logX?: boolean;
  /** Plot log10(y) (default false). */ logY?: boolean;
  /** Draw a legend when any series has a label (default true). */ legend?: boolean;
}

/** Row-major [x0, y0, x1, y1, …] in plot coordinates (log10 where asked), dropping invalid points. */
function plotPoints(s: LineSeries, logX: boolean, logY: boolean, i: number): Float64Array {
  if (s.x.length !== s.y.length)
    throw new Error(`line plot: series ${s.label ?? i} has ${s.x.length} x values but ${s.y.length} y values`);
  const out: number[] = [];
  for (let k = 0; k < s.x.length; k++) {
    const x = logX ? Math.log10(s.x[k]!) : s.x[k]!,
      y = logY ? Math.log10(s.y[k]!) : s.y[k]!;
    if (Number.isFinite(x) && Number.isFinite(y)) out.push(x, y);
  }
  return Float64Array.from(out);
}

/** Raises the top of fitted bounds so a legend of `rows` entries in the top-left corner clears the lines. */
function withLegendRoom(b: Bounds, rows: number): Bounds {
  return rows ? { ...b, ymax: b.ymax + (b.ymax - b.ymin) * 0.055 * (rows + 1) } : b;
}

/** Line plot of several series with dot markers, axes, optional grid and a legend. */
export function renderLinePlot(series: LineSeries[], opts: LinePlotOptions = {}): string {
  const logX = opts.logX ?? false,
    logY = opts.logY ?? false;
  const pts = series.map((s, i) => plotPoints(s, logX, logY, i));
  const withLabels = {
    ...opts,
    equalAspect: opts.equalAspect ?? false,
    xLabel: opts.xLabel && logX ? `log10 ${opts.xLabel}` : opts.xLabel,
    yLabel: opts.yLabel && logY ? `log10 ${opts.yLabel}` : opts.yLabel,
    bounds:
      opts.bounds ??
      withLegendRoom(
        fitBounds(pts, { quantile: 0, margin: 0.06 }),
        (opts.legend ?? true) ? series.filter((s) => s.label).length : 0,
      ),
  };
  const { canvas, view } = setupPlot(withLabels, pts);
  canvas.setClip(view.clip);
  const w = Math.max(1, Math.min(canvas.width, canvas.height) / 280);
  pts.forEach((p, i) => {
    const color = series[i]!.color ?? PALETTE[i % PALETTE.length]!;
    const px = view.project(p);
    canvas.polyline(px, color, { width: 1.5 * w });
    for (let k = 0; k < px.length; k += 2) canvas.disc(px[k]!, px[k + 1]!, 2.5 * w, color);
  });
  finishPlot(canvas, view, { ...withLabels, grid: opts.grid ?? true });
  const entries: LegendEntry[] = series.flatMap((s, i) =>
    s.label ? [{ label: s.label, color: s.color ?? PALETTE[i % PALETTE.length]!, kind: "line" as const }] : [],
  );
  if (opts.legend ?? true) drawLegend(canvas, view, entries);
  return canvas.toString();
}
