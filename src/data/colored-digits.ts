/**
 * A deterministic RGB dataset built from gray digits (for colorization): image i gets a bright
 * foreground color and a darker background of a roughly complementary hue, both drawn from
 * Rng(seed).fork(i), and rgb = bg·(1 − p) + fg·p with p ∈ [0, 1] the digit's intensity.
 */
import { Rng } from "../rng.ts";
import type { ImageSet, PixelRange } from "./images.ts";

/** HSV (all in [0, 1]) → RGB in [0, 1]. */
export function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const f = (k: number) => {
    const kk = (k + h * 6) % 6;
    return v - v * s * Math.max(0, Math.min(kk, 4 - kk, 1));
  };
  return [f(5), f(3), f(1)];
}

/** The two colors of image i: foreground (bright, saturated) and background (dark, opposite hue ± 0.15). */
export function digitColors(seed: number, i: number): { fg: [number, number, number]; bg: [number, number, number] } {
  const r = new Rng(seed).fork(i);
  const h = r.uniform();
  const fg = hsvToRgb(h, 0.7 + 0.3 * r.uniform(), 0.85 + 0.15 * r.uniform());
  const bg = hsvToRgb((h + 0.35 + 0.3 * r.uniform()) % 1, 0.5 + 0.5 * r.uniform(), 0.15 + 0.3 * r.uniform());
  return { fg, bg };
}

/** Colors a 1-channel image set given in `range` into a 3-channel set in the same range (labels kept). */
export function colorDigits(set: ImageSet, range: PixelRange, seed = 0): ImageSet {
  if (set.c !== 1) throw new Error(`colorDigits: needs 1-channel images, got ${set.c} channels`);
  const p = set.h * set.w,
    out = new Float32Array(set.n * 3 * p);
  const toUnit = (v: number) => (range === "[0,1]" ? v : (v + 1) / 2),
    fromUnit = (u: number) => (range === "[0,1]" ? u : 2 * u - 1);
  for (let i = 0; i < set.n; i++) {
    const { fg, bg } = digitColors(seed, i);
    for (let j = 0; j < p; j++) {
      const q = Math.min(1, Math.max(0, toUnit(set.data[i * p + j]!)));
      for (let c = 0; c < 3; c++) out[(i * 3 + c) * p + j] = fromUnit(bg[c]! * (1 - q) + fg[c]! * q);
    }
  }
  return { n: set.n, c: 3, h: set.h, w: set.w, data: out, ...(set.labels ? { labels: set.labels } : {}) };
}
