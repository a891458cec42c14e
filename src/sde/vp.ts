import { checkParam, linearSde } from "./linear.ts";
import type { Sde } from "./types.ts";

export interface VpOptions {
  /** β_min (default 0.1). */ betaMin?: number;
  /** β_max (default 20). */ betaMax?: number;
  /** End time (default 1). */ T?: number;
  /** Default number of steps (default 1000). */ N?: number;
  /** Default smallest sampling time (default 1e-3). */ eps?: number;
}

/** β(t) = β_min + (t/T)(β_max − β_min) and log a(t) = −½∫₀ᵗ β(u) du. */
export function linearBeta(betaMin: number, betaMax: number, T: number) {
  return {
    beta: (t: number) => betaMin + (t / T) * (betaMax - betaMin),
    logMeanCoef: (t: number) => -0.25 * ((t * t) / T) * (betaMax - betaMin) - 0.5 * t * betaMin,
  };
}

function checkBetas(owner: string, betaMin: number, betaMax: number, T: number): void {
  checkParam(owner, "betaMin", betaMin, (v) => v >= 0, "a non-negative number");
  checkParam(owner, "betaMax", betaMax, (v) => v >= betaMin, "at least betaMin");
  checkParam(owner, "T", T, (v) => v > 0, "a positive number");
}

/**
 * The linear-β family shared by VP and sub-VP: drift −½β(t)x, mean coefficient a(t) = exp(−½∫β);
 * the two differ only in g(t) and s(t), given here as functions of β(t) and log a(t). Prior N(0, I).
 */
function linearBetaSde(
  name: "vp" | "subvp",
  owner: string,
  opts: VpOptions,
  diffusion: (beta: number, logA: number) => number,
  std: (logA: number) => number,
): Sde {
  const betaMin = opts.betaMin ?? 0.1,
    betaMax = opts.betaMax ?? 20,
    T = opts.T ?? 1;
  checkBetas(owner, betaMin, betaMax, T);
  const { beta, logMeanCoef } = linearBeta(betaMin, betaMax, T);
  return linearSde({
    name,
    T,
    N: opts.N ?? 1000,
    eps: opts.eps ?? 1e-3,
    priorStd: 1,
    driftCoef: (t) => -0.5 * beta(t),
    diffusion: (t) => diffusion(beta(t), logMeanCoef(t)),
    meanCoef: (t) => Math.exp(logMeanCoef(t)),
    std: (t) => std(logMeanCoef(t)),
  });
}

/**
 * Variance-preserving SDE (DDPM's continuous limit, Song et al. 2021 eq. 11):
 * dx = −½β(t)x dt + sqrt(β(t)) dw. Marginal (eq. 29): a(t) = exp(−½∫β), s(t)² = 1 − a(t)².
 */
export function vpSde(opts: VpOptions = {}): Sde {
  return linearBetaSde(
    "vp",
    "VP SDE",
    opts,
    (beta) => Math.sqrt(beta),
    (logA) => Math.sqrt(-Math.expm1(2 * logA)),
  );
}

/**
 * Sub-VP SDE (Song et al. 2021 eq. 12): dx = −½β(t)x dt + sqrt(β(t)(1 − exp(−2∫β))) dw.
 * Marginal (eq. 33): a(t) = exp(−½∫β), s(t) = 1 − a(t)² (the std, not the variance).
 */
export function subVpSde(opts: VpOptions = {}): Sde {
  return linearBetaSde(
    "subvp",
    "sub-VP SDE",
    opts,
    (beta, logA) => Math.sqrt(beta * -Math.expm1(4 * logA)),
    (logA) => -Math.expm1(2 * logA),
  );
}
