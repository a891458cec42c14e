import type { Rng } from "../rng.ts";

/**
 * A forward diffusion dx = f(x,t) dt + g(t) dw on t ∈ [0, T] (Song et al. 2021, eq. 5).
 *
 * Every SDE here is linear with a scalar drift coefficient, f(x,t) = c(t)·x, so the perturbation
 * kernel p_{0t}(x(t) | x(0)) = N(x(t); a(t)·x(0), s(t)² I) is known in closed form
 * (Song et al. 2021, Appendix B, eqs. 29/32/33): a(t) = `meanCoef(t)`, s(t) = `std(t)`.
 *
 * Layout: batches are row-major Float64Array of n·dim numbers; t is one scalar per call
 * (every sampler and the likelihood advance the whole batch through the same time).
 */
export interface Sde {
  /** "ve" | "vp" | "subvp" (used in messages and for documented per-SDE defaults only). */
  readonly name: string;
  /** End time of the forward process (1 by default). */
  readonly T: number;
  /** Default number of discretization steps (score_sde's `N`, 1000). */
  readonly N: number;
  /** Default smallest time for sampling (score_sde: 1e-5 for VE, 1e-3 for VP/sub-VP). */
  readonly eps: number;
  /** Std of the isotropic Gaussian prior p_T (σ_max for VE, 1 for VP and sub-VP). */
  readonly priorStd: number;
  /** c(t) in f(x,t) = c(t)·x. Units: 1/time. */
  driftCoef(t: number): number;
  /** f(x,t) = c(t)·x, elementwise: x [n·dim] → [n·dim]. */
  drift(x: Float64Array, t: number): Float64Array;
  /** g(t), the scalar diffusion coefficient. Units: 1/sqrt(time). */
  diffusion(t: number): number;
  /** a(t): E[x(t) | x(0)] = a(t)·x(0). */
  meanCoef(t: number): number;
  /** s(t): std of x(t) | x(0) (per coordinate). */
  std(t: number): number;
  /** n samples of p_T = N(0, priorStd² I): [n·dim]. */
  priorSample(rng: Rng, n: number, dim: number): Float64Array;
  /** log p_T(z) in nats per row: z [n·dim] → [n]. */
  priorLogProb(z: Float64Array, n: number, dim: number): Float64Array;
  /**
   * One forward step from t−dt to t written as x(t) = x + f + G·z, z ~ N(0, I) — the (f, G) that
   * score_sde's reverse-diffusion predictor reverses (Song et al. 2021, eq. 46). Here the step is the
   * exact Gaussian transition kernel of the linear SDE: f = (a(t)/a(t−dt) − 1)·x and
   * G² = s(t)² − (a(t)/a(t−dt))²·s(t−dt)². With score_sde's grid this is exactly its discrete SMLD
   * (G² = σ_i² − σ_{i−1}²) and DDPM (f = (√(1−β_i) − 1)x, G = √β_i) steps. x [n·dim], dt > 0.
   */
  discretize(x: Float64Array, t: number, dt: number): { f: Float64Array; G: number };
}

/** The closed-form pieces that define a linear SDE; `linearSde` derives the rest. */
export interface LinearSdeSpec {
  name: string;
  T: number;
  N: number;
  eps: number;
  priorStd: number;
  driftCoef(t: number): number;
  diffusion(t: number): number;
  meanCoef(t: number): number;
  std(t: number): number;
}
