export { medianMs } from "../src/timing.ts";

export const round = (v: number) => Math.round(v * 100) / 100;

/** The q-quantile of `a` with linear interpolation between order statistics (q = 0.5: the median). */
export function quantile(a: readonly number[], q: number): number {
  const s = [...a].sort((x, y) => x - y);
  const i = q * (s.length - 1),
    lo = Math.floor(i);
  return s[lo]! + (s[Math.ceil(i)]! - s[lo]!) * (i - lo);
}
