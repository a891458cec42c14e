import type { GaussianMixture } from "./mixture.ts";

/** Empirical statistics of the samples assigned to one mixture component. */
export interface ComponentFit {
  /** Fraction of samples assigned to the component. */ weight: number;
  /** Per-coordinate sample mean [dim]. */ mean: Float64Array;
  /** Per-coordinate sample std [dim]. */ std: Float64Array;
  count: number;
}

/** How far samples are from the mixture: worst component over all coordinates. */
export interface FitError {
  /** max_k |ŵ_k − w_k|. */ weight: number;
  /** max_{k,j} |m̂_kj − μ_kj|. */ mean: number;
  /** max_{k,j} |ŝ_kj/σ_kj − 1| with σ_kj = √Σ_k[j,j]. */ stdRel: number;
}

/**
 * Assigns each sample to its most responsible component (under the data mixture) and returns
 * per-component weight, mean and std: x [n·dim] → K fits. Used to judge samplers against the truth.
 */
export function fitByComponent(mixture: GaussianMixture, x: Float64Array, n: number): ComponentFit[] {
  const d = mixture.dim,
    labels = mixture.assign(x, n);
  const fits = Array.from({ length: mixture.K }, () => ({
    weight: 0,
    mean: new Float64Array(d),
    std: new Float64Array(d),
    count: 0,
  }));
  for (let i = 0; i < n; i++) {
    const f = fits[labels[i]!]!;
    f.count++;
    for (let j = 0; j < d; j++) {
      const v = x[i * d + j]!;
      f.mean[j]! += v;
      f.std[j]! += v * v;
    }
  }
  for (const f of fits) {
    f.weight = f.count / n;
    for (let j = 0; j < d; j++) {
      const m = f.count ? f.mean[j]! / f.count : NaN;
      f.std[j] = f.count ? Math.sqrt(Math.max(f.std[j]! / f.count - m * m, 0)) : NaN;
      f.mean[j] = m;
    }
  }
  return fits;
}

/** Per-coordinate std of component k: √Σ_k[j,j], [dim]. */
export function componentStd(mixture: GaussianMixture, k: number): Float64Array {
  const d = mixture.dim,
    out = new Float64Array(d);
  for (let j = 0; j < d; j++)
    out[j] = Math.sqrt(mixture.kind === "diag" ? mixture.cov[k * d + j]! : mixture.cov[(k * d + j) * d + j]!);
  return out;
}

/** Worst-case deviation of `fitByComponent` results from the true weights, means and stds. */
export function fitError(mixture: GaussianMixture, fits: readonly ComponentFit[]): FitError {
  const d = mixture.dim;
  let weight = 0,
    mean = 0,
    stdRel = 0;
  fits.forEach((f, k) => {
    const sd = componentStd(mixture, k);
    weight = Math.max(weight, Math.abs(f.weight - mixture.weights[k]!));
    for (let j = 0; j < d; j++) {
      mean = Math.max(mean, Math.abs(f.mean[j]! - mixture.means[k * d + j]!));
      stdRel = Math.max(stdRel, Math.abs(f.std[j]! / sd[j]! - 1));
    }
  });
  // NaN (an empty component) must fail comparisons, not pass them
  return { weight, mean: Number.isNaN(mean) ? Infinity : mean, stdRel: Number.isNaN(stdRel) ? Infinity : stdRel };
}
