import type { GaussianMixture } from "../oracle/mixture.ts";
import { componentStd } from "../oracle/stats.ts";

/** How far samples of the unknown coordinates land from an exact conditional mixture. */
export interface ConditionalGap {
  /** Fraction of samples assigned to each component of the conditional [K]. */ weights: number[];
  /** max_k |ŵ_k − w_k|. */ weight: number;
  /** max |m̂ − m| over components with weight ≥ `minWeight` and coordinates. */ mean: number;
  /** max |ŝ/s − 1| over the same. */ stdRel: number;
}

/**
 * Compares rows x [n·dim] restricted to the coordinates `unknown` with the conditional mixture `cond`
 * (in those coordinates): each sample is assigned to its most responsible component; means and stds
 * are compared for components of weight ≥ minWeight (tiny components get too few samples).
 */
export function compareConditional(
  cond: GaussianMixture,
  x: Float64Array,
  n: number,
  unknown: readonly number[],
  dim: number,
  minWeight = 0.05,
): ConditionalGap {
  const b = unknown.length,
    K = cond.K;
  const xb = new Float64Array(n * b);
  for (let i = 0; i < n; i++)
    unknown.forEach((j, c) => {
      xb[i * b + c] = x[i * dim + j]!;
    });
  const labels = cond.assign(xb, n);
  const count = new Float64Array(K),
    sum = new Float64Array(K * b),
    sq = new Float64Array(K * b);
  for (let i = 0; i < n; i++) {
    const k = labels[i]!;
    count[k]!++;
    for (let c = 0; c < b; c++) {
      const v = xb[i * b + c]!;
      sum[k * b + c]! += v;
      sq[k * b + c]! += v * v;
    }
  }
  let weight = 0,
    mean = 0,
    stdRel = 0;
  const weights: number[] = [];
  for (let k = 0; k < K; k++) {
    weights.push(count[k]! / n);
    weight = Math.max(weight, Math.abs(count[k]! / n - cond.weights[k]!));
    if (cond.weights[k]! < minWeight) continue;
    const sd = componentStd(cond, k);
    for (let c = 0; c < b; c++) {
      const m = sum[k * b + c]! / count[k]!,
        s = Math.sqrt(Math.max(sq[k * b + c]! / count[k]! - m * m, 0));
      mean = Math.max(mean, Number.isNaN(m) ? Infinity : Math.abs(m - cond.means[k * b + c]!));
      stdRel = Math.max(stdRel, Number.isNaN(s) ? Infinity : Math.abs(s / sd[c]! - 1));
    }
  }
  return { weights, weight, mean, stdRel };
}
