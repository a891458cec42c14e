import type { ScoreModel } from "../score.ts";
import type { Sde } from "./types.ts";

/** A length-n vector with every entry t (ScoreModel takes one time per row). */
export function timeVector(t: number, n: number): Float64Array {
  return new Float64Array(n).fill(t);
}

/**
 * Drift of the reverse-time SDE (Song et al. 2021, eq. 6) given the score s ≈ ∇ₓ log p_t(x):
 * f(x,t) − λ·g(t)²·s with λ = 1 (reverse SDE, eq. 6) or λ = ½ (probability-flow ODE, eq. 13).
 * The reverse process runs dt < 0; its diffusion is g(t) (λ = 1) or 0 (λ = ½).
 * x, score [n·dim] → [n·dim].
 */
export function reverseDriftFromScore(
  sde: Sde,
  x: Float64Array,
  score: Float64Array,
  t: number,
  lambda = 1,
): Float64Array {
  const c = sde.driftCoef(t),
    g = sde.diffusion(t),
    k = lambda * g * g;
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = c * x[i]! - k * score[i]!;
  return out;
}

/** Probability-flow ODE drift dx/dt = f(x,t) − ½g(t)²·s(x,t) (Song et al. 2021, eq. 13). */
export function probabilityFlowDriftFromScore(sde: Sde, x: Float64Array, score: Float64Array, t: number): Float64Array {
  return reverseDriftFromScore(sde, x, score, t, 0.5);
}

/** The reverse-time SDE of `sde` driven by `model` (eq. 6): drift f − g²s and diffusion g. */
export function reverseSde(sde: Sde, model: ScoreModel) {
  return {
    /** Drift and the score it used: x [n·dim] at time t → [n·dim]. Costs one score evaluation. */
    async drift(x: Float64Array, t: number, n: number): Promise<{ drift: Float64Array; score: Float64Array }> {
      const score = await model.score(x, timeVector(t, n), n);
      return { drift: reverseDriftFromScore(sde, x, score, t, 1), score };
    },
    diffusion: (t: number) => sde.diffusion(t),
  };
}

/** The probability-flow ODE of `sde` driven by `model` (eq. 13): dx/dt = f − ½g²s. */
export function probabilityFlow(sde: Sde, model: ScoreModel) {
  return {
    /** x [n·dim] at time t → dx/dt [n·dim]. Costs one score evaluation. */
    async drift(x: Float64Array, t: number, n: number): Promise<Float64Array> {
      const score = await model.score(x, timeVector(t, n), n);
      return probabilityFlowDriftFromScore(sde, x, score, t);
    },
  };
}
