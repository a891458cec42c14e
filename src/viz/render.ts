/**
 * 2-D plots as SVG documents (platform-neutral; the page shows them as they are, ./plots.ts turns
 * them into PNG with resvg): scatter plots over an optional density heatmap, score vector fields,
 * SDE/ODE trajectories and point-cloud frames. Text is real text (σ, ∇, ε render as such).
 * Point arrays are row-major n×2 world coordinates ([x0, y0, x1, y1, …]).
 */
import { Canvas } from "./canvas.ts";
import { SvgCanvas, estimateTextWidth } from "./svg-canvas.ts";
import {
  type Bounds,
  type LegendEntry,
  View,
  checkBounds,
  drawAxes,
  drawColorbar,
  drawLegend,
  drawTitle,
  equalAspect,
  fitBounds,
  fontScaleFor,
  layout,
} from "./axes.ts";
import {
  type Color,
  type ColorLike,
  type Colormap,
  type ColormapName,
  PALETTE,
  WHITE,
  toColor,
  toColormap,
} from "./color.ts";

/** Options shared by all 2-D plots. */
export interface PlotOptions {
  /** Picture size in pixels (default 560 × 560). */
  width?: number;
  height?: number;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** World window; by default fitted to the points drawn (see {@link fitBounds}). */
  bounds?: Bounds;
  /** Keep world units square (default true; the window is widened to fit the canvas). */
  equalAspect?: boolean;
  /** Draw the frame, ticks and tick labels (default true). */
  axes?: boolean;
  /** Faint grid lines at the ticks (default false). */
  grid?: boolean;
  background?: ColorLike;
  /** Prefix of the SVG's element ids (default "sg"); give each plot its own when several share a page. */
  id?: string;
}

/** One set of points in a scatter plot. */
export interface PointSet {
  /** Row-major n×2. */
  points: ArrayLike<number>;
  color?: ColorLike;
  label?: string;
  /** Dot radius in pixels (default from the number of points: 2.2 for ≤ 1k, down to 1.2). */
  radius?: number;
  /** Dot opacity (default from the number of points: 0.75 for ≤ 1k, down to 0.25). */
  alpha?: number;
}

/** A log-density to shade behind points, in nats, at one world point. */
export type LogDensity2D = (x: number, y: number) => number;

export interface DensityOptions {
  /** Colormap of the normalized density p/max p (default "density"). */
  colormap?: ColormapName | Colormap;
  /** Exponent applied to p/max p before coloring (default 0.6; < 1 lifts low-density regions). */
  gamma?: number;
  /** Evaluate every k-th pixel and replicate (default 1: every pixel). */
  step?: number;
}

export interface ScatterOptions extends PlotOptions {
  /** Training data (drawn first, blue). */
  data?: ArrayLike<number>;
  /** Generated samples (drawn on top, orange). */
  samples?: ArrayLike<number>;
  /** Further point sets, drawn after data and samples. */
  sets?: PointSet[];
  /** Labels for data and samples in the legend (defaults "data" and "samples"). */
  dataLabel?: string;
  samplesLabel?: string;
  /** Shade a density behind the points. */
  logDensity?: LogDensity2D;
  density?: DensityOptions;
  /** Draw a legend when any set has a label (default true). */
  legend?: boolean;
}

function checkXY(a: ArrayLike<number>, what: string): void {
  if (a.length % 2 !== 0)
    throw new Error(`${what}: expected a row-major n×2 array of points, got length ${a.length} (odd)`);
}

function defaultRadius(n: number, w: number): number {
  const base = n <= 1000 ? 2.2 : n <= 5000 ? 1.7 : n <= 20000 ? 1.4 : 1.2;
  return base * Math.max(1, Math.min(w, 2000) / 700);
}
function defaultAlpha(n: number): number {
  return n <= 1000 ? 0.75 : n <= 5000 ? 0.5 : n <= 20000 ? 0.35 : 0.25;
}

/** An SVG canvas, a view fitted to the given point sets (or opts.bounds) and the plot area clip. */
export function setupPlot(
  opts: PlotOptions,
  fitTo: ArrayLike<number>[],
  extra: { colorbar?: boolean } = {},
): { canvas: SvgCanvas; view: View } {
  const width = opts.width ?? 560,
    height = opts.height ?? 560;
  const canvas = new SvgCanvas(width, height, opts.background ?? WHITE, opts.id);
  const rect = layout(width, height, {
    title: opts.title,
    xLabel: opts.xLabel,
    yLabel: opts.yLabel,
    colorbar: extra.colorbar,
    axes: opts.axes,
  });
  let b = opts.bounds ?? fitBounds(fitTo);
  checkBounds(b);
  if (opts.equalAspect ?? true) b = equalAspect(b, rect);
  return { canvas, view: new View(b, rect) };
}

/** Draws title and axes (call after the plot content). */
export function finishPlot(canvas: SvgCanvas, view: View, opts: PlotOptions): void {
  canvas.setClip();
  if (opts.axes ?? true) drawAxes(canvas, view, { xLabel: opts.xLabel, yLabel: opts.yLabel, grid: opts.grid });
  if (opts.title) drawTitle(canvas, opts.title);
}

/**
 * Shades exp(logDensity) (normalized to its maximum over the view) into the plot area: a raster of
 * one cell per `step` pixels, embedded in the SVG as a PNG image.
 */
export function drawDensity(canvas: SvgCanvas, view: View, logDensity: LogDensity2D, opts: DensityOptions = {}): void {
  const cmap = toColormap(opts.colormap ?? "density");
  const gamma = opts.gamma ?? 0.6;
  const step = Math.max(1, Math.round(opts.step ?? 1));
  const { left, top, width, height } = view.rect;
  const nx = Math.ceil(width / step),
    ny = Math.ceil(height / step);
  const lp = new Float64Array(nx * ny);
  let max = -Infinity;
  for (let j = 0; j < ny; j++) {
    const y = view.wy(top + j * step + step / 2);
    for (let i = 0; i < nx; i++) {
      const v = logDensity(view.wx(left + i * step + step / 2), y);
      lp[j * nx + i] = v;
      if (v > max && Number.isFinite(v)) max = v;
    }
  }
  if (!Number.isFinite(max)) return;
  const img = new Canvas(nx, ny);
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      const v = lp[j * nx + i]!;
      const p = Number.isFinite(v) || v === -Infinity ? Math.exp(v - max) : 0;
      img.setPixel(i, j, cmap(p ** gamma));
    }
  }
  canvas.image(img, left, top, nx * step, ny * step, step > 1);
}

/** Scatter plot (SVG): data (blue) and samples (orange) over an optional density heatmap. */
export function renderScatter(opts: ScatterOptions): string {
  const sets: PointSet[] = [];
  if (opts.data) sets.push({ points: opts.data, color: PALETTE[0]!, label: opts.dataLabel ?? "data" });
  if (opts.samples) sets.push({ points: opts.samples, color: PALETTE[1]!, label: opts.samplesLabel ?? "samples" });
  (opts.sets ?? []).forEach((s, k) =>
    sets.push({ ...s, color: s.color ?? PALETTE[(sets.length + k) % PALETTE.length]! }),
  );
  sets.forEach((s, k) => checkXY(s.points, `scatter point set ${s.label ?? k}`));
  const { canvas, view } = setupPlot(
    opts,
    sets.map((s) => s.points),
  );
  canvas.setClip(view.clip);
  if (opts.logDensity) drawDensity(canvas, view, opts.logDensity, opts.density);
  for (const s of sets) {
    const n = s.points.length / 2;
    canvas.discs(
      view.project(s.points),
      s.radius ?? defaultRadius(n, canvas.width),
      s.color ?? PALETTE[0]!,
      s.alpha ?? defaultAlpha(n),
    );
  }
  const entries: LegendEntry[] = sets
    .filter((s) => s.label)
    .map((s) => ({ label: s.label!, color: s.color ?? PALETTE[0]! }));
  if ((opts.legend ?? true) && entries.length > 0) drawLegend(canvas, view, entries);
  finishPlot(canvas, view, opts);
  return canvas.toString();
}

// --- score fields -----------------------------------------------------------------------------

/**
 * A vector field sampled on a grid: the vector at (xs[i], ys[j]) is (u[j·nx + i], v[j·nx + i]),
 * nx = xs.length (row j = one y value).
 */
export interface VectorField {
  xs: ArrayLike<number>;
  ys: ArrayLike<number>;
  u: ArrayLike<number>;
  v: ArrayLike<number>;
}

/** Grid points to evaluate a model on: `points` is row-major (nx·ny)×2 in the order j·nx + i. */
export interface FieldGrid {
  xs: Float64Array;
  ys: Float64Array;
  points: Float64Array;
}

/** An nx × ny grid over bounds (cell centers, so arrows do not sit on the frame). */
export function fieldGrid(bounds: Bounds, nx = 24, ny = nx): FieldGrid {
  checkBounds(bounds);
  if (!Number.isSafeInteger(nx) || !Number.isSafeInteger(ny) || nx < 1 || ny < 1)
    throw new Error(`fieldGrid: nx and ny must be positive integers, got ${nx}, ${ny}`);
  const xs = new Float64Array(nx),
    ys = new Float64Array(ny);
  for (let i = 0; i < nx; i++) xs[i] = bounds.xmin + ((i + 0.5) * (bounds.xmax - bounds.xmin)) / nx;
  for (let j = 0; j < ny; j++) ys[j] = bounds.ymin + ((j + 0.5) * (bounds.ymax - bounds.ymin)) / ny;
  const points = new Float64Array(2 * nx * ny);
  for (let j = 0; j < ny; j++)
    for (let i = 0; i < nx; i++) {
      points[2 * (j * nx + i)] = xs[i]!;
      points[2 * (j * nx + i) + 1] = ys[j]!;
    }
  return { xs, ys, points };
}

/** Splits row-major (nx·ny)×2 vectors evaluated at `grid.points` into a {@link VectorField}. */
export function fieldFromVectors(
  grid: { xs: ArrayLike<number>; ys: ArrayLike<number> },
  vectors: ArrayLike<number>,
): VectorField {
  const m = grid.xs.length * grid.ys.length;
  if (vectors.length !== 2 * m)
    throw new Error(
      `fieldFromVectors: expected ${2 * m} numbers (${grid.xs.length}·${grid.ys.length} vectors × 2), got ${vectors.length}`,
    );
  const u = new Float64Array(m),
    v = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    u[k] = vectors[2 * k]!;
    v[k] = vectors[2 * k + 1]!;
  }
  return { xs: grid.xs, ys: grid.ys, u, v };
}

export interface ScoreFieldOptions extends PlotOptions {
  /** Samples (or data) drawn faintly under the arrows. */
  samples?: ArrayLike<number>;
  /** Shade a density under the arrows. */
  logDensity?: LogDensity2D;
  density?: DensityOptions;
  /** Diffusion time, shown in the default title "score field at t = …". */
  t?: number;
  /** "unit": every arrow has the same length (direction only; default); "magnitude": ∝ |s|/max|s|. */
  lengthMode?: "unit" | "magnitude";
  /** Color scale of |s|: "auto" uses log when max/min > 30 (default), or "linear" / "log". */
  colorScale?: "auto" | "linear" | "log";
  colormap?: ColormapName | Colormap;
  /** Show a colorbar of |s| (default true). */
  colorbar?: boolean;
  /** Arrow length as a fraction of the grid spacing (default 0.8). */
  arrowScale?: number;
}

/**
 * The vector field as arrows centered on the grid points: length normalized (see lengthMode),
 * color by magnitude, over optional samples and density. Non-finite vectors are skipped.
 */
export function renderScoreField(field: VectorField, opts: ScoreFieldOptions = {}): string {
  const nx = field.xs.length,
    ny = field.ys.length,
    m = nx * ny;
  if (nx === 0 || ny === 0) throw new Error("scoreFieldPlot: the grid is empty; give at least one x and one y");
  if (field.u.length !== m || field.v.length !== m) {
    throw new Error(
      `scoreFieldPlot: u and v need ${m} entries (xs.length ${nx} × ys.length ${ny}), got ${field.u.length} and ${field.v.length}`,
    );
  }
  if (opts.samples) checkXY(opts.samples, "scoreFieldPlot samples");
  const gx = Array.from(field.xs),
    gy = Array.from(field.ys);
  const dxs = nx > 1 ? (Math.max(...gx) - Math.min(...gx)) / (nx - 1) : 1;
  const dys = ny > 1 ? (Math.max(...gy) - Math.min(...gy)) / (ny - 1) : dxs;
  const gridBounds: Bounds = {
    xmin: Math.min(...gx) - dxs / 2,
    xmax: Math.max(...gx) + dxs / 2,
    ymin: Math.min(...gy) - dys / 2,
    ymax: Math.max(...gy) + dys / 2,
  };
  const title =
    opts.title ?? (opts.t !== undefined ? `score field at t = ${Number(opts.t.toPrecision(3))}` : undefined);
  const showBar = opts.colorbar ?? true;
  const { canvas, view } = setupPlot({ ...opts, title, bounds: opts.bounds ?? gridBounds }, [], { colorbar: showBar });
  canvas.setClip(view.clip);
  if (opts.logDensity) drawDensity(canvas, view, opts.logDensity, opts.density);
  if (opts.samples) {
    const n = opts.samples.length / 2;
    canvas.discs(
      view.project(opts.samples),
      defaultRadius(n, canvas.width) * 0.8,
      [150, 150, 160],
      Math.min(0.5, defaultAlpha(n)),
    );
  }
  const mag = new Float64Array(m);
  const finite: number[] = [];
  for (let k = 0; k < m; k++) {
    const a = Math.hypot(field.u[k]!, field.v[k]!);
    mag[k] = a;
    if (Number.isFinite(a) && a > 0) finite.push(a);
  }
  finite.sort((a, b) => a - b);
  // Color range: the largest magnitude down to the 2nd percentile, so a single near-zero vector
  // (e.g. at a symmetry point) does not stretch a log scale; smaller values get the lowest color.
  const hi = finite.length > 0 ? finite[finite.length - 1]! : 0;
  let lo = finite.length > 0 ? finite[Math.floor(0.02 * (finite.length - 1))]! : 0;
  const scaleMode = opts.colorScale ?? "auto";
  const log = scaleMode === "log" || (scaleMode === "auto" && lo > 0 && hi / lo > 30);
  if (!log && finite.length > 0) lo = finite[0]!;
  const cmap = toColormap(opts.colormap ?? "heat");
  const tOf = (a: number) => {
    if (!(hi > lo)) return 0.5;
    return log ? Math.log(Math.max(a, lo) / lo) / Math.log(hi / lo) : (a - lo) / (hi - lo);
  };
  const [sx, sy] = view.scale;
  const cellPx = Math.min(dxs * sx, dys * sy);
  const maxLen = cellPx * (opts.arrowScale ?? 0.8);
  const width = Math.max(1, Math.min(2.2, cellPx / 14));
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      const k = j * nx + i;
      const a = mag[k]!;
      if (!Number.isFinite(a) || a === 0) continue;
      const len = opts.lengthMode === "magnitude" ? maxLen * (a / hi) : maxLen;
      if (len < 0.5) continue;
      // pixel direction: world y up → pixel y down
      const ux = field.u[k]! / a,
        uy = -field.v[k]! / a;
      const cx = view.px(gx[i]!),
        cy = view.py(gy[j]!);
      canvas.arrow(cx - (ux * len) / 2, cy - (uy * len) / 2, cx + (ux * len) / 2, cy + (uy * len) / 2, cmap(tOf(a)), {
        width,
        head: Math.max(3, Math.min(len * 0.4, 3 + 3 * width)),
      });
    }
  }
  if (showBar && hi > 0) drawColorbar(canvas, view, cmap, lo, hi, { label: log ? "|s| (log)" : "|s|", log });
  finishPlot(canvas, view, { ...opts, title });
  return canvas.toString();
}

// --- trajectories ---------------------------------------------------------------------------

export interface TrajectoryOptions extends PlotOptions {
  /** Background points (e.g. the data), drawn faintly. */
  data?: ArrayLike<number>;
  logDensity?: LogDensity2D;
  density?: DensityOptions;
  /** Color along each path from start (0) to end (1) (default "time"), or one color for all. */
  colormap?: ColormapName | Colormap;
  color?: ColorLike;
  lineWidth?: number;
  /** Path opacity (default 0.7, lower for many paths). */
  alpha?: number;
  /** Draw at most this many paths (evenly chosen; default all). */
  maxPaths?: number;
  /** Legend labels of the start and end markers (defaults "start", "end"). */
  startLabel?: string;
  endLabel?: string;
  legend?: boolean;
}

/**
 * Paths from sampler frames: frames[k] is the row-major n×2 state at step k; returns n paths,
 * each a row-major T×2 array (T = frames.length).
 */
export function pathsFromFrames(frames: ArrayLike<number>[]): Float64Array[] {
  if (frames.length === 0) return [];
  const len = frames[0]!.length;
  checkXY(frames[0]!, "pathsFromFrames frame 0");
  frames.forEach((f, k) => {
    if (f.length !== len)
      throw new Error(
        `pathsFromFrames: frame ${k} has length ${f.length} but frame 0 has ${len}; every frame must hold the same points`,
      );
  });
  const n = len / 2,
    T = frames.length;
  const paths: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const p = new Float64Array(2 * T);
    for (let k = 0; k < T; k++) {
      p[2 * k] = frames[k]![2 * i]!;
      p[2 * k + 1] = frames[k]![2 * i + 1]!;
    }
    paths.push(p);
  }
  return paths;
}

/**
 * Trajectories: each path (row-major T×2, in time order) as a polyline colored from start to end,
 * its start marked by a ring and its end by a dot.
 */
export function renderTrajectories(paths: ArrayLike<number>[], opts: TrajectoryOptions = {}): string {
  paths.forEach((p, k) => checkXY(p, `trajectory ${k}`));
  if (opts.data) checkXY(opts.data, "trajectoryPlot data");
  let chosen = paths;
  if (opts.maxPaths !== undefined && paths.length > opts.maxPaths) {
    const m = Math.max(0, Math.floor(opts.maxPaths));
    chosen = Array.from({ length: m }, (_, k) => paths[Math.floor((k * paths.length) / m)]!);
  }
  const { canvas, view } = setupPlot(opts, [...chosen, ...(opts.data ? [opts.data] : [])]);
  canvas.setClip(view.clip);
  if (opts.logDensity) drawDensity(canvas, view, opts.logDensity, opts.density);
  if (opts.data) {
    const n = opts.data.length / 2;
    canvas.discs(
      view.project(opts.data),
      defaultRadius(n, canvas.width) * 0.8,
      [160, 160, 170],
      Math.min(0.45, defaultAlpha(n)),
    );
  }
  const cmap: Colormap =
    opts.color !== undefined
      ? (
          (c: Color) => () =>
            c
        )(toColor(opts.color))
      : toColormap(opts.colormap ?? "time");
  const alpha = opts.alpha ?? (chosen.length <= 50 ? 0.75 : chosen.length <= 300 ? 0.5 : 0.3);
  const lw = opts.lineWidth ?? (chosen.length <= 50 ? 1.6 : 1.1);
  const fs = Math.max(1, canvas.width / 700);
  for (const p of chosen) canvas.polyline(view.project(p), cmap, { width: lw, alpha });
  const startCol = cmap(0),
    endCol = cmap(1);
  for (const p of chosen) {
    if (p.length < 2) continue;
    canvas.ring(view.px(p[0]!), view.py(p[1]!), 2.6 * fs, darken(startCol, 0.75), {
      width: 1.2 * fs,
      alpha: Math.min(1, alpha + 0.2),
    });
  }
  for (const p of chosen) {
    if (p.length < 2) continue;
    const e = p.length - 2;
    canvas.disc(view.px(p[e]!), view.py(p[e + 1]!), 2.6 * fs, endCol, Math.min(1, alpha + 0.25));
  }
  if (opts.legend ?? true) {
    drawLegend(canvas, view, [
      { label: opts.startLabel ?? "start", color: darken(startCol, 0.75), kind: "ring" },
      { label: opts.endLabel ?? "end", color: endCol, kind: "dot" },
    ]);
  }
  finishPlot(canvas, view, opts);
  return canvas.toString();
}

function darken(c: Color, f: number): Color {
  return [c[0] * f, c[1] * f, c[2] * f];
}

// --- point-cloud frames (for GIFs) -----------------------------------------------------------

export interface PointCloudOptions extends PlotOptions {
  color?: ColorLike;
  radius?: number;
  alpha?: number;
  /** Faint reference points (e.g. the data) under the cloud. */
  reference?: ArrayLike<number>;
  /** A caption in the top-left corner of the plot area, e.g. "t = 0.50". */
  caption?: string;
}

/** One frame of a moving point cloud (fixed bounds across frames are up to the caller). */
export function renderPointCloud(points: ArrayLike<number>, opts: PointCloudOptions = {}): string {
  checkXY(points, "pointCloudFrame");
  const { canvas, view } = setupPlot(opts, [points, ...(opts.reference ? [opts.reference] : [])]);
  canvas.setClip(view.clip);
  if (opts.reference) {
    checkXY(opts.reference, "pointCloudFrame reference");
    const n = opts.reference.length / 2;
    canvas.discs(
      view.project(opts.reference),
      defaultRadius(n, canvas.width) * 0.8,
      [175, 190, 215],
      Math.min(0.4, defaultAlpha(n)),
    );
  }
  const n = points.length / 2;
  canvas.discs(
    view.project(points),
    opts.radius ?? defaultRadius(n, canvas.width),
    opts.color ?? PALETTE[1]!,
    opts.alpha ?? defaultAlpha(n),
  );
  if (opts.caption) {
    const size = 14 * fontScaleFor(canvas.width, canvas.height);
    const tw = estimateTextWidth(opts.caption, size);
    canvas.fillRect(view.rect.left + 3, view.rect.top + 3, tw + 10, size + 6, [255, 255, 255], 0.8);
    canvas.text(opts.caption, view.rect.left + 8, view.rect.top + 8, [40, 40, 48], { size });
  }
  finishPlot(canvas, view, opts);
  return canvas.toString();
}
