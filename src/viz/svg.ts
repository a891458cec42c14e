/**
 * Plots as SVG text (platform-neutral): real text with Unicode (σ, ∇, ε), axis labels and ticks.
 * The playground inserts these strings into the page; they are plain SVG 1.1 with no scripts.
 */
import { PLOT_FONT_FAMILY, xmlEscape } from "./svg-canvas.ts";

export interface Frame {
  /** Data window: [xmin, xmax] × [ymin, ymax]. */
  x: [number, number];
  y: [number, number];
  /** Pixel size of the whole figure. */
  width: number;
  height: number;
  title?: string;
  xlabel?: string;
  ylabel?: string;
  /** Log-scale y axis (data must be positive). */
  logY?: boolean;
}

const M = { left: 52, right: 12, top: 26, bottom: 40 };

/** XML-escape text content and attribute values. */
export const esc = xmlEscape;

/** Round for compact SVG coordinates (0.01 px). */
const r2 = (v: number) => Math.round(v * 100) / 100;

/** Data → pixel maps for a frame. */
export function scales(f: Frame): {
  sx: (v: number) => number;
  sy: (v: number) => number;
  inner: { x0: number; y0: number; w: number; h: number };
} {
  const w = f.width - M.left - M.right,
    h = f.height - M.top - M.bottom;
  const ty = (v: number) => (f.logY ? Math.log10(v) : v);
  const [y0, y1] = [ty(f.y[0]), ty(f.y[1])];
  return {
    sx: (v) => r2(M.left + ((v - f.x[0]) / (f.x[1] - f.x[0])) * w),
    sy: (v) => r2(M.top + h - ((ty(v) - y0) / (y1 - y0)) * h),
    inner: { x0: M.left, y0: M.top, w, h },
  };
}

/** About `n` round tick values covering [a, b]. */
export function ticks(a: number, b: number, n = 5): number[] {
  const span = b - a;
  if (!(span > 0)) return [a];
  const raw = span / n,
    mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(a / step) * step; v <= b + step * 1e-9; v += step)
    out.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  return out;
}

const fmt = (v: number) =>
  Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(0) : String(Number(v.toPrecision(4)));

/** The frame: background, clip path, axes with ticks and labels, title; `body` is drawn inside the clip. */
export function figure(f: Frame, body: string, id = "p"): string {
  const { sx, sy, inner } = scales(f);
  const xt = ticks(f.x[0], f.x[1]);
  const yt = f.logY
    ? ticks(Math.log10(f.y[0]), Math.log10(f.y[1]))
        .filter(Number.isInteger)
        .map((e) => 10 ** e)
    : ticks(f.y[0], f.y[1]);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}" font-family="${PLOT_FONT_FAMILY}" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<clipPath id="${id}-clip"><rect x="${inner.x0}" y="${inner.y0}" width="${inner.w}" height="${inner.h}"/></clipPath>`,
    `<g clip-path="url(#${id}-clip)">${body}</g>`,
    `<rect x="${inner.x0}" y="${inner.y0}" width="${inner.w}" height="${inner.h}" fill="none" stroke="#333"/>`,
    ...xt.map(
      (v) =>
        `<line x1="${sx(v)}" x2="${sx(v)}" y1="${inner.y0 + inner.h}" y2="${inner.y0 + inner.h + 4}" stroke="#333"/><text x="${sx(v)}" y="${inner.y0 + inner.h + 15}" text-anchor="middle">${esc(fmt(v))}</text>`,
    ),
    ...yt.map(
      (v) =>
        `<line x1="${inner.x0 - 4}" x2="${inner.x0}" y1="${sy(v)}" y2="${sy(v)}" stroke="#333"/><text x="${inner.x0 - 6}" y="${sy(v) + 4}" text-anchor="end">${esc(fmt(v))}</text>`,
    ),
  ];
  if (f.title)
    parts.push(
      `<text x="${inner.x0 + inner.w / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${esc(f.title)}</text>`,
    );
  if (f.xlabel)
    parts.push(`<text x="${inner.x0 + inner.w / 2}" y="${f.height - 6}" text-anchor="middle">${esc(f.xlabel)}</text>`);
  if (f.ylabel)
    parts.push(
      `<text transform="translate(13 ${inner.y0 + inner.h / 2}) rotate(-90)" text-anchor="middle">${esc(f.ylabel)}</text>`,
    );
  parts.push("</svg>");
  return parts.join("");
}

/** Points [n·2] as small circles. */
export function pointsLayer(
  f: Frame,
  xy: ArrayLike<number>,
  opts: { color?: string; r?: number; opacity?: number } = {},
): string {
  const { sx, sy } = scales(f);
  const out: string[] = [`<g fill="${opts.color ?? "#1f77b4"}" fill-opacity="${opts.opacity ?? 0.6}">`];
  for (let i = 0; i + 1 < xy.length; i += 2)
    out.push(`<circle cx="${sx(xy[i]!)}" cy="${sy(xy[i + 1]!)}" r="${opts.r ?? 1.6}"/>`);
  out.push("</g>");
  return out.join("");
}

/** A polyline through (x[i], y[i]). */
export function lineLayer(f: Frame, x: ArrayLike<number>, y: ArrayLike<number>, color = "#d62728"): string {
  const { sx, sy } = scales(f);
  const pts: string[] = [];
  for (let i = 0; i < x.length; i++)
    if (Number.isFinite(y[i]!) && (!f.logY || y[i]! > 0)) pts.push(`${sx(x[i]!)},${sy(y[i]!)}`);
  return `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts.join(" ")}"/>`;
}

/** Arrows from points [n·2] along vectors [n·2], scaled so the longest is `maxLen` data units. */
export function arrowLayer(
  f: Frame,
  at: ArrayLike<number>,
  v: ArrayLike<number>,
  maxLen: number,
  color = "#444",
): string {
  const { sx, sy } = scales(f);
  let m = 0;
  for (let i = 0; i + 1 < v.length; i += 2) m = Math.max(m, Math.hypot(v[i]!, v[i + 1]!));
  const k = m > 0 ? maxLen / m : 0;
  const out: string[] = [`<g stroke="${color}" stroke-width="1" fill="${color}">`];
  for (let i = 0; i + 1 < at.length; i += 2) {
    const x0 = sx(at[i]!),
      y0 = sy(at[i + 1]!),
      x1 = sx(at[i]! + k * v[i]!),
      y1 = sy(at[i + 1]! + k * v[i + 1]!);
    const dx = x1 - x0,
      dy = y1 - y0,
      len = Math.hypot(dx, dy);
    if (len < 0.5) continue;
    const ux = dx / len,
      uy = dy / len,
      h = Math.min(4, len / 2);
    out.push(
      `<line x1="${x0}" y1="${y0}" x2="${x1}" y2="${y1}"/><polygon points="${x1},${y1} ${r2(x1 - h * ux + (h / 2) * uy)},${r2(y1 - h * uy - (h / 2) * ux)} ${r2(x1 - h * ux - (h / 2) * uy)},${r2(y1 - h * uy + (h / 2) * ux)}"/>`,
    );
  }
  out.push("</g>");
  return out.join("");
}

/** A g×g heat map of values (row-major, first row at the top) over the frame's window; NaN cells are left blank. */
export function heatLayer(
  f: Frame,
  values: ArrayLike<number>,
  g: number,
  palette: (u: number) => string = blues,
): string {
  const { sx, sy } = scales(f);
  let lo = Infinity,
    hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  const cw = (f.x[1] - f.x[0]) / g,
    ch = (f.y[1] - f.y[0]) / g;
  const out: string[] = ['<g shape-rendering="crispEdges">'];
  for (let i = 0; i < g; i++)
    for (let j = 0; j < g; j++) {
      const v = values[i * g + j]!;
      if (!Number.isFinite(v)) continue;
      const x0 = sx(f.x[0] + j * cw),
        x1 = sx(f.x[0] + (j + 1) * cw),
        y0 = sy(f.y[1] - i * ch),
        y1 = sy(f.y[1] - (i + 1) * ch);
      out.push(
        `<rect x="${x0}" y="${y0}" width="${r2(x1 - x0 + 0.5)}" height="${r2(y1 - y0 + 0.5)}" fill="${palette(hi > lo ? (v - lo) / (hi - lo) : 0)}"/>`,
      );
    }
  out.push("</g>");
  return out.join("");
}

/** White → blue ramp for densities. */
export function blues(u: number): string {
  const c = (a: number, b: number) => Math.round(a + (b - a) * Math.max(0, Math.min(1, u)));
  return `rgb(${c(255, 8)},${c(255, 69)},${c(255, 148)})`;
}

/** Options of {@link scoreFieldSvg}. */
export interface ScoreFieldSvgOptions {
  /** Square window half-width: the plot covers [−extent, extent]² (default 4). */
  extent?: number;
  width?: number;
  height?: number;
  /** Diffusion time, shown in the default title. */
  t?: number;
  title?: string;
  /** exp(logDensity) shaded under the arrows on a 60×60 grid. */
  logDensity?: (x: number, y: number) => number;
  /** Points drawn faintly under the arrows, row-major n×2. */
  samples?: ArrayLike<number>;
}

/**
 * The score field s(x, t) ≈ ∇ₓ log pₜ(x) as arrows at `points` (row-major n×2, a regular grid of
 * g×g cells), longest arrow 0.9 of a cell. The page's field panel and `scoregen plot field` draw this.
 */
export function scoreFieldSvg(
  points: ArrayLike<number>,
  score: ArrayLike<number>,
  opts: ScoreFieldSvgOptions = {},
): string {
  if (points.length !== score.length || points.length % 2 !== 0)
    throw new Error(
      `scoreFieldSvg: points and score must be row-major n×2 of equal length, got ${points.length} and ${score.length}`,
    );
  const e = opts.extent ?? 4,
    g = Math.max(1, Math.round(Math.sqrt(points.length / 2)));
  const title =
    opts.title ?? `score ∇ₓ log pₜ(x)${opts.t !== undefined ? ` at t = ${Number(opts.t.toPrecision(3))}` : ""}`;
  const f: Frame = {
    x: [-e, e],
    y: [-e, e],
    width: opts.width ?? 340,
    height: opts.height ?? 300,
    title,
    xlabel: "x₁",
    ylabel: "x₂",
  };
  let body = "";
  if (opts.logDensity) {
    const n = 60,
      v = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++)
        v[i * n + j] = Math.exp(opts.logDensity(-e + (2 * e * (j + 0.5)) / n, e - (2 * e * (i + 0.5)) / n));
    body += heatLayer(f, v, n);
  }
  if (opts.samples) body += pointsLayer(f, opts.samples, { color: "#999", r: 1.2, opacity: 0.5 });
  body += arrowLayer(f, points, score, ((2 * e) / g) * 0.9);
  return figure(f, body, "field");
}
