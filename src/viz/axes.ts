/**
 * World ↔ pixel transforms, plot layout, "nice" ticks, the axes frame, titles, legends and
 * colorbars. World coordinates have y up; pixels have y down.
 */
import { type ColorLike, type Colormap, INK, toColor } from "./color.ts";
import { type SvgCanvas, estimateTextWidth } from "./svg-canvas.ts";

/** Pixel sizes of the plot text at font scale 1: tick and axis labels, titles. */
export const TICK_FONT = 11;
export const TITLE_FONT = 15;
/** Room the layout keeps for one line of tick text (cap height) and one tick-label character. */
const LINE = 7;
const CHAR = 6;

/** An axis-aligned world rectangle. */
export interface Bounds {
  xmin: number;
  xmax: number;
  ymin: number;
  ymax: number;
}

/** A pixel rectangle by its top-left corner and size. */
export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Maps world bounds onto a pixel rectangle (y flipped). */
export class View {
  readonly bounds: Bounds;
  readonly rect: Rect;
  private readonly sx: number;
  private readonly sy: number;
  constructor(bounds: Bounds, rect: Rect) {
    checkBounds(bounds);
    this.bounds = bounds;
    this.rect = rect;
    this.sx = rect.width / (bounds.xmax - bounds.xmin);
    this.sy = rect.height / (bounds.ymax - bounds.ymin);
  }
  /** Pixel x of world x. */
  px(x: number): number {
    return this.rect.left + (x - this.bounds.xmin) * this.sx;
  }
  /** Pixel y of world y. */
  py(y: number): number {
    return this.rect.top + (this.bounds.ymax - y) * this.sy;
  }
  /** World x of pixel x. */
  wx(px: number): number {
    return this.bounds.xmin + (px - this.rect.left) / this.sx;
  }
  /** World y of pixel y. */
  wy(py: number): number {
    return this.bounds.ymax - (py - this.rect.top) / this.sy;
  }
  /** Pixels per world unit along x and y. */
  get scale(): [number, number] {
    return [this.sx, this.sy];
  }
  /** Pixel coordinates of a row-major n×2 world array, [px0, py0, px1, py1, …]. */
  project(points: ArrayLike<number>): Float64Array {
    const out = new Float64Array(points.length - (points.length % 2));
    for (let i = 0; i < out.length; i += 2) {
      out[i] = this.px(points[i]!);
      out[i + 1] = this.py(points[i + 1]!);
    }
    return out;
  }
  /** The clip rectangle of the plot area. */
  get clip() {
    return {
      x0: this.rect.left,
      y0: this.rect.top,
      x1: this.rect.left + this.rect.width,
      y1: this.rect.top + this.rect.height,
    };
  }
}

export function checkBounds(b: Bounds): void {
  if (![b.xmin, b.xmax, b.ymin, b.ymax].every(Number.isFinite) || !(b.xmax > b.xmin) || !(b.ymax > b.ymin)) {
    throw new Error(`invalid plot bounds ${JSON.stringify(b)}; need finite xmin < xmax and ymin < ymax`);
  }
}

/** A square window [-e, e]². */
export function squareBounds(extent: number): Bounds {
  return { xmin: -extent, xmax: extent, ymin: -extent, ymax: extent };
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = q * (sorted.length - 1);
  const i = Math.floor(pos),
    f = pos - i;
  return sorted[i]! + (i + 1 < sorted.length ? (sorted[i + 1]! - sorted[i]!) * f : 0);
}

/**
 * Bounds covering row-major n×2 point arrays: the [q, 1−q] quantiles of each coordinate over
 * all finite points (q = 0.002 by default, so a few stray points do not shrink the picture),
 * expanded by `margin` (fraction of the span, default 0.08). Falls back to [-1, 1]² when empty.
 */
export function fitBounds(sets: ArrayLike<number>[], opts: { quantile?: number; margin?: number } = {}): Bounds {
  const q = opts.quantile ?? 0.002,
    margin = opts.margin ?? 0.08;
  const xs: number[] = [],
    ys: number[] = [];
  for (const s of sets) {
    for (let i = 0; i + 1 < s.length; i += 2) {
      const x = s[i]!,
        y = s[i + 1]!;
      if (Number.isFinite(x) && Number.isFinite(y)) {
        xs.push(x);
        ys.push(y);
      }
    }
  }
  if (xs.length === 0) return squareBounds(1);
  const sx = Float64Array.from(xs).sort(),
    sy = Float64Array.from(ys).sort();
  let xmin = quantile(sx, q),
    xmax = quantile(sx, 1 - q),
    ymin = quantile(sy, q),
    ymax = quantile(sy, 1 - q);
  const span = Math.max(xmax - xmin, ymax - ymin, 1e-9);
  const mx = Math.max(margin * span, 1e-6);
  xmin -= mx;
  xmax += mx;
  ymin -= mx;
  ymax += mx;
  return { xmin, xmax, ymin, ymax };
}

/** Expands bounds (about their center) so that world units have equal pixel size in x and y. */
export function equalAspect(b: Bounds, rect: Rect): Bounds {
  const w = b.xmax - b.xmin,
    h = b.ymax - b.ymin;
  const ppu = Math.min(rect.width / w, rect.height / h);
  const nw = rect.width / ppu,
    nh = rect.height / ppu;
  const cx = (b.xmin + b.xmax) / 2,
    cy = (b.ymin + b.ymax) / 2;
  return { xmin: cx - nw / 2, xmax: cx + nw / 2, ymin: cy - nh / 2, ymax: cy + nh / 2 };
}

/** Tick positions at 1, 2 or 5 × 10^k spacing covering [lo, hi], with the decimals to print. */
export function niceTicks(lo: number, hi: number, target = 5): { values: number[]; step: number; decimals: number } {
  if (!(hi > lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) return { values: [], step: 0, decimals: 0 };
  const raw = (hi - lo) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  const values: number[] = [];
  const first = Math.ceil(lo / step - 1e-9);
  for (let k = first; k * step <= hi + step * 1e-9; k++) values.push(k * step);
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return { values, step, decimals };
}

/** A tick label: fixed decimals, no "-0". */
export function formatTick(v: number, decimals: number): string {
  const s = v.toFixed(Math.min(20, decimals));
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

/** Font magnification used for tick labels on a canvas of this size (1 up to ~700 px). */
export function fontScaleFor(width: number, height: number): number {
  return Math.max(1, Math.round(Math.min(width, height) / 700));
}

export interface LayoutOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Reserve room on the right for a colorbar. */
  colorbar?: boolean;
  /** Draw ticks and labels (default true); without axes the plot area is the whole canvas minus title. */
  axes?: boolean;
}

/** The plot-area rectangle for a canvas, leaving room for title, tick labels and colorbar. */
export function layout(width: number, height: number, opts: LayoutOptions = {}): Rect {
  const fs = fontScaleFor(width, height);
  const axes = opts.axes ?? true;
  const top = opts.title ? LINE * 2 * fs + 16 : axes ? 10 : 0;
  const left = axes ? 6 * CHAR * fs + 10 + (opts.yLabel ? LABEL_ROOM * fs : 0) : 0;
  const bottom = axes ? LINE * fs + 14 + (opts.xLabel ? LABEL_ROOM * fs : 0) : 0;
  const right = (opts.colorbar ? 72 * fs : 0) + (axes ? 12 : 0);
  return { left, top, width: Math.max(10, width - left - right), height: Math.max(10, height - top - bottom) };
}

const LABEL_ROOM = 14;

/** Draws a centered bold title above the plot area. */
export function drawTitle(c: SvgCanvas, title: string, color: ColorLike = INK): void {
  const fs = fontScaleFor(c.width, c.height);
  const saved = c.clip;
  c.setClip();
  c.text(title, c.width / 2, 9 * fs, color, { size: TITLE_FONT * fs, align: "center", bold: true });
  c.setClip(saved);
}

export interface AxesOptions {
  color?: ColorLike;
  xLabel?: string;
  yLabel?: string;
  /** Target number of ticks per axis (default 5, fewer on small plots). */
  ticks?: number;
  /** Light grid lines at the ticks inside the plot area (default false). */
  grid?: boolean;
}

/** Draws the frame around the plot area with outward ticks and numeric labels. */
export function drawAxes(c: SvgCanvas, view: View, opts: AxesOptions = {}): void {
  const col = toColor(opts.color ?? INK);
  const fs = fontScaleFor(c.width, c.height);
  const { left, top, width, height } = view.rect;
  const saved = c.clip;
  c.setClip();
  const x0 = left - 0.5,
    x1 = left + width + 0.5,
    y0 = top - 0.5,
    y1 = top + height + 0.5;
  const target = opts.ticks ?? Math.max(2, Math.min(7, Math.round(Math.min(width, height) / 80)));
  const tl = 4 * fs;
  const xt = niceTicks(view.bounds.xmin, view.bounds.xmax, target);
  for (const v of xt.values) {
    const px = Math.round(view.px(v)) + 0.5;
    if (opts.grid) c.line(px, top, px, top + height, col, { alpha: 0.12 });
    c.line(px, y1, px, y1 + tl, col);
    c.text(formatTick(v, xt.decimals), px, y1 + tl + 3, col, { size: TICK_FONT * fs, align: "center" });
  }
  const yt = niceTicks(view.bounds.ymin, view.bounds.ymax, target);
  for (const v of yt.values) {
    const py = Math.round(view.py(v)) + 0.5;
    if (opts.grid) c.line(left, py, left + width, py, col, { alpha: 0.12 });
    c.line(x0 - tl, py, x0, py, col);
    c.text(formatTick(v, yt.decimals), x0 - tl - 3, py, col, {
      size: TICK_FONT * fs,
      align: "right",
      baseline: "middle",
    });
  }
  c.line(x0, y0, x1, y0, col);
  c.line(x1, y0, x1, y1, col);
  c.line(x1, y1, x0, y1, col);
  c.line(x0, y1, x0, y0, col);
  if (opts.xLabel)
    c.text(opts.xLabel, left + width / 2, y1 + tl + 3 + (LINE + 7) * fs, col, {
      size: TICK_FONT * fs,
      align: "center",
    });
  if (opts.yLabel)
    c.text(opts.yLabel, x0 - tl - 3 - 5 * CHAR * fs - (LINE + 5) * fs, top + height / 2, col, {
      size: TICK_FONT * fs,
      align: "center",
      baseline: "top",
      vertical: true,
    });
  c.setClip(saved);
}

export interface LegendEntry {
  label: string;
  color: ColorLike;
  /** Marker: a filled dot (default), a ring, or a short line. */
  kind?: "dot" | "ring" | "line";
}

/** A legend box in the top-left corner of the plot area. */
export function drawLegend(c: SvgCanvas, view: View, entries: LegendEntry[]): void {
  if (entries.length === 0) return;
  const fs = fontScaleFor(c.width, c.height);
  const rowH = (LINE + 8) * fs;
  const w = Math.max(...entries.map((e) => estimateTextWidth(e.label, TICK_FONT * fs))) + 28 * fs;
  const h = entries.length * rowH + 6 * fs;
  const x = view.rect.left + 6,
    y = view.rect.top + 6;
  const saved = c.clip;
  c.setClip(view.clip);
  c.fillRect(x, y, w, h, [255, 255, 255], 0.85);
  entries.forEach((e, i) => {
    const cy = y + 3 * fs + rowH * i + rowH / 2;
    const mx = x + 9 * fs;
    const col = toColor(e.color);
    if (e.kind === "line") c.line(mx - 6 * fs, cy, mx + 6 * fs, cy, col, { width: 2 * fs });
    else if (e.kind === "ring") c.ring(mx, cy, 3.5 * fs, col, { width: 1.5 * fs });
    else c.disc(mx, cy, 3.5 * fs, col);
    c.text(e.label, x + 20 * fs, cy, INK, { size: TICK_FONT * fs, baseline: "middle" });
  });
  c.setClip(saved);
}

/**
 * A vertical colorbar to the right of the plot area for values in [lo, hi] (`log`: the colormap
 * runs over log10 of the values), with end labels and an optional label on top.
 */
export function drawColorbar(
  c: SvgCanvas,
  view: View,
  cmap: Colormap,
  lo: number,
  hi: number,
  opts: { label?: string; log?: boolean } = {},
): void {
  const fs = fontScaleFor(c.width, c.height);
  const x = view.rect.left + view.rect.width + 14 * fs,
    w = 12 * fs;
  const y = view.rect.top + 20 * fs,
    h = view.rect.height - 20 * fs;
  const saved = c.clip;
  c.setClip();
  c.colorRamp(x, y, w, h, cmap);
  c.line(x - 0.5, y - 0.5, x + w + 0.5, y - 0.5, INK);
  c.line(x + w + 0.5, y - 0.5, x + w + 0.5, y + h + 0.5, INK);
  c.line(x + w + 0.5, y + h + 0.5, x - 0.5, y + h + 0.5, INK);
  c.line(x - 0.5, y + h + 0.5, x - 0.5, y - 0.5, INK);
  // ticks: 1-2-5 steps (linear) or powers of ten (log); the end values when too few fit
  const ticks: [number, string][] = [];
  if (opts.log && lo > 0 && hi > lo) {
    const a = Math.ceil(Math.log10(lo) - 1e-9),
      b = Math.floor(Math.log10(hi) + 1e-9);
    const every = Math.max(1, Math.ceil((b - a + 1) / 6));
    for (let k = a; k <= b; k += every) ticks.push([(k - Math.log10(lo)) / Math.log10(hi / lo), formatValue(10 ** k)]);
  } else if (hi > lo) {
    const nt = niceTicks(lo, hi, 5);
    for (const v of nt.values) ticks.push([(v - lo) / (hi - lo), formatTick(v, nt.decimals)]);
  }
  if (ticks.length < 2) {
    ticks.length = 0;
    ticks.push([0, formatValue(lo)], [1, formatValue(hi)]);
  }
  for (const [f, s] of ticks) {
    const py = Math.round(y + h - f * h) + 0.5;
    c.line(x + w, py, x + w + 3 * fs, py, INK);
    c.text(s, x + w + 5 * fs, py, INK, { size: TICK_FONT * fs, baseline: "middle" });
  }
  if (opts.label) c.text(opts.label, x, y - 14 * fs, INK, { size: TICK_FONT * fs });
  c.setClip(saved);
}

/** Compact number formatting for labels: up to 3 significant digits, exponent form when large/small. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-2) {
    const [m, e] = v.toExponential(1).split("e");
    return `${m}e${Number(e)}`;
  }
  return String(Number(v.toPrecision(3)));
}
