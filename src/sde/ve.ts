import { checkParam, linearSde } from "./linear.ts";
import type { Sde } from "./types.ts";

export interface VeOptions {
  /** σ_min (default 0.01). */ sigmaMin?: number;
  /** σ_max (default 50). */ sigmaMax?: number;
  /** End time (default 1). */ T?: number;
  /** Default number of steps (default 1000). */ N?: number;
  /** Default smallest sampling time (default 1e-5, as score_sde uses for VE). */ eps?: number;
}

/**
 * Variance-exploding SDE (SMLD's continuous limit, Song et al. 2021 eq. 30):
 * dx = σ(t)·sqrt(2 ln(σ_max/σ_min)) dw with σ(t) = σ_min (σ_max/σ_min)^(t/T).
 * Marginal: a(t) = 1, s(t) = σ(t). As in score_sde, s(t) includes the σ_min² floor, i.e. the
 * moment ODE d s²/dt = g(t)² holds with s(0)² = σ_min² (data pre-perturbed at the smallest scale).
 * Prior: N(0, σ_max² I).
 */
export function veSde(opts: VeOptions = {}): Sde {
  const sigmaMin = opts.sigmaMin ?? 0.01,
    sigmaMax = opts.sigmaMax ?? 50,
    T = opts.T ?? 1;
  checkParam("VE SDE", "sigmaMin", sigmaMin, (v) => v > 0, "a positive number");
  checkParam("VE SDE", "sigmaMax", sigmaMax, (v) => v > sigmaMin, "greater than sigmaMin");
  checkParam("VE SDE", "T", T, (v) => v > 0, "a positive number");
  const logRatio = Math.log(sigmaMax / sigmaMin);
  const sigma = (t: number) => sigmaMin * Math.exp(logRatio * (t / T));
  return linearSde({
    name: "ve",
    T,
    N: opts.N ?? 1000,
    eps: opts.eps ?? 1e-5,
    priorStd: sigmaMax,
    driftCoef: () => 0,
    diffusion: (t) => sigma(t) * Math.sqrt((2 * logRatio) / T),
    meanCoef: () => 1,
    std: sigma,
  });
}
