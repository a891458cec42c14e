/**
 * Noise level and log-SNR of a linear SDE's perturbation kernel N(a(t)·x₀, s(t)² I), the
 * coordinates in which the fast deterministic samplers work:
 *  - σ(t) = s(t)/a(t): EDM's noise level (Karras et al. 2022, Table 1: x/a(t) = x₀ + σ(t)·z);
 *  - λ(t) = log(a(t)/s(t)) = −log σ(t): the half log-SNR of DPM-Solver (Lu et al. 2022, §3.1).
 * σ(t) is strictly increasing in t for VE, VP and sub-VP, so both are invertible by bisection.
 */
import type { Sde } from "./types.ts";

/** σ(t) = s(t)/a(t) (dimensionless; = s(t) for VE). */
export function noiseLevel(sde: Sde, t: number): number {
  return sde.std(t) / sde.meanCoef(t);
}

/** λ(t) = log(a(t)/s(t)) in nats (Lu et al. 2022, eq. 3.3 with α = a, σ = s). */
export function logSnr(sde: Sde, t: number): number {
  return Math.log(sde.meanCoef(t)) - Math.log(sde.std(t));
}

/**
 * The t ∈ [lo, hi] with σ(t) = sigma, by bisection to float64 resolution (σ increasing in t).
 * Values outside [σ(lo), σ(hi)] give the nearer end.
 */
export function timeOfNoiseLevel(sde: Sde, sigma: number, lo = 0, hi: number = sde.T): number {
  if (!(sigma >= 0)) throw new Error(`timeOfNoiseLevel: sigma must be a non-negative number (got ${sigma})`);
  if (sigma <= noiseLevel(sde, lo)) return lo;
  if (sigma >= noiseLevel(sde, hi)) return hi;
  for (let k = 0; k < 200; k++) {
    const mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    if (noiseLevel(sde, mid) < sigma) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/** The t ∈ [lo, hi] with λ(t) = lambda (λ decreasing in t). */
export function timeOfLogSnr(sde: Sde, lambda: number, lo = 0, hi: number = sde.T): number {
  return timeOfNoiseLevel(sde, Math.exp(-lambda), lo, hi);
}
