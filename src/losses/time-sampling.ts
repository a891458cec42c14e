/**
 * Importance sampling of the training time (Song, Durkan, Murray & Ermon 2021, "Maximum likelihood
 * training of score-based diffusion models", §5): draw t with density p(t) ∝ g(t)²/s(t)² on
 * [eps, T] instead of uniformly, and reweight each example by λ(t)/(p(t)·(T − eps)) so the
 * objective's expectation E_{t~U}[λ(t)·ℓ(t)] is unchanged.
 *
 * For every linear SDE, g² = ds²/dt − 2f·s² (the moment ODE of the kernel), so
 * g²/s² = d/dt log(s²/a²) = d/dt 2·log σ(t), σ = s/a the noise level (src/sde/noise-level.ts).
 * Hence p(t) is the law of t when log σ(t) is uniform between log σ(eps) and log σ(T) — sampled
 * exactly by inverting σ — with normalizer Z = 2·log(σ(T)/σ(eps)). With the likelihood weighting
 * λ = g² the per-example weight becomes s(t)²·Z/(T − eps): that of plain DSM times a constant.
 */
import { noiseLevel, timeOfNoiseLevel } from "../sde/noise-level.ts";
import type { Sde } from "../sde/types.ts";

/** The density p(t) = g(t)²/(s(t)²·Z) on [eps, T] (per unit time). */
export function importanceDensity(sde: Sde, eps: number, t: number): number {
  const Z = 2 * Math.log(noiseLevel(sde, sde.T) / noiseLevel(sde, eps));
  return sde.diffusion(t) ** 2 / (sde.std(t) ** 2 * Z);
}

/** t ~ p(t) from one uniform u ∈ [0, 1): log σ(t) = log σ(eps) + u·log(σ(T)/σ(eps)). */
export function importanceTime(sde: Sde, eps: number, u: number): number {
  const lo = Math.log(noiseLevel(sde, eps)),
    hi = Math.log(noiseLevel(sde, sde.T));
  return timeOfNoiseLevel(sde, Math.exp(lo + u * (hi - lo)), eps, sde.T);
}
