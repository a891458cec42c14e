/**
 * Colors and colormaps for plots. A color is an sRGB triple of bytes [r, g, b] (0–255); alpha is
 * always passed separately. Colormap stops were chosen for this project (sequential maps run
 * from light to dark or dark to light with monotone lightness).
 */

/** sRGB color, bytes 0–255. */
export type Color = readonly [number, number, number];

/** Accepts a Color or a "#rrggbb" / "#rgb" string. */
export type ColorLike = Color | string;

/** Parses "#rrggbb" or "#rgb" (or passes a Color through); throws on anything else. */
export function toColor(c: ColorLike): Color {
  if (typeof c !== "string") return c;
  const m6 = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(c);
  if (m6) return [parseInt(m6[1]!, 16), parseInt(m6[2]!, 16), parseInt(m6[3]!, 16)];
  const m3 = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/i.exec(c);
  if (m3) return [parseInt(m3[1]!, 16) * 17, parseInt(m3[2]!, 16) * 17, parseInt(m3[3]!, 16) * 17];
  throw new Error(`invalid color ${JSON.stringify(c)}; use "#rrggbb", "#rgb" or an [r, g, b] byte triple`);
}

/** "#rrggbb" of a Color. */
export function toHex(c: Color): string {
  return `#${c
    .map((v) =>
      Math.max(0, Math.min(255, Math.round(v)))
        .toString(16)
        .padStart(2, "0"),
    )
    .join("")}`;
}

export const WHITE: Color = [255, 255, 255];
export const BLACK: Color = [0, 0, 0];
export const INK: Color = [40, 40, 48];
export const GRID_GRAY: Color = [150, 150, 158];

/** Categorical colors: data, samples, then further series. */
export const PALETTE: readonly Color[] = [
  [52, 101, 164], // blue: data
  [232, 112, 34], // orange: samples
  [64, 150, 80], // green
  [200, 48, 64], // red
  [128, 86, 178], // purple
  [140, 96, 64], // brown
  [214, 96, 168], // pink
  [110, 110, 120], // gray
];

/** A colormap: t ∈ [0, 1] (clamped) → Color. */
export type Colormap = (t: number) => Color;

/** Piecewise-linear colormap through equally spaced stops. */
export function linearColormap(stops: readonly Color[]): Colormap {
  if (stops.length < 2) throw new Error("linearColormap: need at least two stops");
  const k = stops.length - 1;
  return (t: number): Color => {
    const x = Number.isFinite(t) ? Math.max(0, Math.min(1, t)) * k : 0;
    const i = Math.min(k - 1, Math.floor(x));
    const f = x - i;
    const a = stops[i]!,
      b = stops[i + 1]!;
    return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
  };
}

/** Built-in colormaps. */
export const COLORMAPS = {
  /** white → pale blue → deep blue: density backgrounds under scatter points. */
  density: linearColormap([
    [255, 255, 255],
    [226, 236, 248],
    [176, 206, 236],
    [112, 164, 214],
    [58, 112, 180],
    [26, 56, 122],
  ]),
  /** indigo → blue → teal → green → amber → red: magnitudes (e.g. |score|). */
  heat: linearColormap([
    [48, 32, 110],
    [38, 96, 178],
    [28, 158, 160],
    [122, 196, 88],
    [240, 196, 48],
    [216, 64, 40],
  ]),
  /** pale lavender → violet → crimson: time along trajectories (start → end). */
  time: linearColormap([
    [190, 196, 232],
    [140, 130, 210],
    [132, 60, 170],
    [176, 30, 90],
  ]),
  /** black → white. */
  gray: linearColormap([
    [0, 0, 0],
    [255, 255, 255],
  ]),
} as const;

export type ColormapName = keyof typeof COLORMAPS;

/** A colormap by name or function. */
export function toColormap(c: ColormapName | Colormap): Colormap {
  if (typeof c === "function") return c;
  const m = COLORMAPS[c];
  if (!m) throw new Error(`unknown colormap "${String(c)}"; valid names: ${Object.keys(COLORMAPS).join(", ")}`);
  return m;
}
