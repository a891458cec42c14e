/**
 * Discrete-time forward processes: DDPM (Ho et al. 2020) and the NCSN/SMLD noise levels
 * (Song & Ermon 2019). Indices are 0-based: index i is DDPM's timestep t = i + 1.
 */

export interface DdpmOptions {
  /** β_1 (default 1e-4). */ betaStart?: number;
  /** β_N (default 0.02). */ betaEnd?: number;
  /** Number of steps N (default 1000). */ steps?: number;
}

/** DDPM's linear β schedule and the derived products (Ho et al. 2020, §2 and §4). */
export interface DdpmSchedule {
  readonly steps: number;
  /** β_i, length N. */ readonly betas: Float64Array;
  /** α_i = 1 − β_i. */ readonly alphas: Float64Array;
  /** ᾱ_i = ∏_{j≤i} α_j. */ readonly alphaBars: Float64Array;
  /** q(x_i | x_0) = N(√ᾱ_i x_0, (1 − ᾱ_i) I) (Ho et al. eq. 4): returns its mean coefficient and std. */
  marginal(i: number): { meanCoef: number; std: number };
  /** A sample of q(x_i | x_0) with the given standard-normal noise: x0, noise [m] → [m]. */
  sampleMarginal(x0: Float64Array, i: number, noise: Float64Array): Float64Array;
  /**
   * The posterior q(x_{i−1} | x_i, x_0) = N(μ̃, β̃ I) (Ho et al. eqs. 6–7):
   * μ̃ = √ᾱ_{i−1} β_i/(1−ᾱ_i)·x0 + √α_i (1−ᾱ_{i−1})/(1−ᾱ_i)·x_i, β̃ = (1−ᾱ_{i−1})/(1−ᾱ_i)·β_i.
   * For i = 0 (DDPM t = 1 → x_0) ᾱ_{−1} = 1: the mean is x0 and the variance 0.
   */
  posterior(x0: Float64Array, xi: Float64Array, i: number): { mean: Float64Array; variance: number };
}

function checkIndex(i: number, steps: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= steps)
    throw new Error(`DDPM: step index must be an integer in [0, ${steps - 1}] (got ${i})`);
}

/** Builds the DDPM schedule: β linear from `betaStart` to `betaEnd` over `steps` steps. */
export function ddpmSchedule(opts: DdpmOptions = {}): DdpmSchedule {
  const b0 = opts.betaStart ?? 1e-4,
    b1 = opts.betaEnd ?? 0.02,
    steps = opts.steps ?? 1000;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`DDPM: "steps" must be a positive integer (got ${steps})`);
  if (!(b0 > 0 && b1 >= b0 && b1 < 1)) throw new Error(`DDPM: need 0 < betaStart ≤ betaEnd < 1 (got ${b0}, ${b1})`);
  const betas = new Float64Array(steps),
    alphas = new Float64Array(steps),
    alphaBars = new Float64Array(steps);
  let prod = 1;
  for (let i = 0; i < steps; i++) {
    betas[i] = steps === 1 ? b0 : b0 + ((b1 - b0) * i) / (steps - 1);
    alphas[i] = 1 - betas[i]!;
    prod *= alphas[i]!;
    alphaBars[i] = prod;
  }
  const marginal = (i: number) => {
    checkIndex(i, steps);
    return { meanCoef: Math.sqrt(alphaBars[i]!), std: Math.sqrt(1 - alphaBars[i]!) };
  };
  return {
    steps,
    betas,
    alphas,
    alphaBars,
    marginal,
    sampleMarginal(x0, i, noise) {
      const { meanCoef, std } = marginal(i);
      const out = new Float64Array(x0.length);
      for (let k = 0; k < x0.length; k++) out[k] = meanCoef * x0[k]! + std * noise[k]!;
      return out;
    },
    posterior(x0, xi, i) {
      checkIndex(i, steps);
      if (i === 0) return { mean: Float64Array.from(x0), variance: 0 };
      const abPrev = alphaBars[i - 1]!,
        ab = alphaBars[i]!,
        beta = betas[i]!;
      const c0 = (Math.sqrt(abPrev) * beta) / (1 - ab);
      const ci = (Math.sqrt(alphas[i]!) * (1 - abPrev)) / (1 - ab);
      const mean = new Float64Array(x0.length);
      for (let k = 0; k < x0.length; k++) mean[k] = c0 * x0[k]! + ci * xi[k]!;
      return { mean, variance: ((1 - abPrev) / (1 - ab)) * beta };
    },
  };
}

/**
 * NCSN/SMLD noise levels (Song & Ermon 2019, §4.2): a geometric sequence σ_1 = σ_max > … > σ_L = σ_min.
 * Returns the L levels in decreasing order.
 */
export function ncsnSigmas(opts: { sigmaMin?: number; sigmaMax?: number; levels?: number } = {}): Float64Array {
  const lo = opts.sigmaMin ?? 0.01,
    hi = opts.sigmaMax ?? 50,
    L = opts.levels ?? 10;
  if (!Number.isInteger(L) || L < 1) throw new Error(`NCSN sigmas: "levels" must be a positive integer (got ${L})`);
  if (!(lo > 0 && hi >= lo)) throw new Error(`NCSN sigmas: need 0 < sigmaMin ≤ sigmaMax (got ${lo}, ${hi})`);
  const out = new Float64Array(L);
  for (let i = 0; i < L; i++)
    out[i] = L === 1 ? hi : Math.exp(Math.log(hi) + ((Math.log(lo) - Math.log(hi)) * i) / (L - 1));
  return out;
}
