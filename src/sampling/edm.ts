/**
 * EDM's second-order sampler (Karras et al. 2022, "Elucidating the Design Space of Diffusion-Based
 * Generative Models", Alg. 1 deterministic, Alg. 2 stochastic) on the SDE's own noise level
 * σ(t) = s(t)/a(t) and scaling a(t) (EDM's s(t); Table 1): the state is rescaled to y = x/a(t),
 * which obeys EDM's ODE dy/dσ = (y − D(y; σ))/σ (eq. 4 with σ(t) = t, s(t) = 1), where
 * D(y; σ) = x̂₀ is the Tweedie data prediction from the score at x = a(t)·y, t = t(σ)
 * (src/sde/parameterization.ts — every network parameterization works). Heun's method in σ,
 * then back to x = a(s)·y. Two score evaluations per step.
 *
 * Stochastic variant (Alg. 2): before each step, if σ_i ∈ [S_tmin, S_tmax], raise the noise level to
 * σ̂ = σ_i(1 + γ), γ = min(S_churn/N, √2 − 1), by adding √(σ̂² − σ_i²)·S_noise·z. σ̂ is capped at σ(T)
 * (the model is not defined beyond T).
 */
import { scaled } from "../sde/linear.ts";
import { dataPrediction } from "../sde/parameterization.ts";
import { noiseLevel, timeOfNoiseLevel } from "../sde/noise-level.ts";
import type { Predictor, StepContext, Update } from "./types.ts";
import { addNoise, checkPositiveInt, lincomb, scoreAt } from "./util.ts";

/** Alg. 2's churn settings (σ units for the window). S_churn = 0 is Alg. 1. */
export interface ChurnOptions {
  /** S_churn ≥ 0 (default 0: deterministic). */ sChurn?: number;
  /** Lower end of the churn window in σ (default 0). */ sTmin?: number;
  /** Upper end of the churn window in σ (default ∞). */ sTmax?: number;
  /** S_noise, the std multiplier of the added noise (default 1). */ sNoise?: number;
}

/** EDM's ODE slope (y − D(y; σ))/σ at the time t of noise level σ: one score evaluation. */
async function slope(y: Float64Array, t: number, sigma: number, ctx: StepContext): Promise<Float64Array> {
  const a = ctx.sde.meanCoef(t);
  const x = scaled(y, a);
  const d = dataPrediction(ctx.sde, x, await scoreAt(ctx.model, x, t, ctx.n), t);
  return lincomb(1 / sigma, y, -1 / sigma, d);
}

/** The Heun (EDM) predictor; `steps` is N, the number of outer steps (S_churn/N). */
export function edmHeunPredictor(steps: number, opts: ChurnOptions = {}): Predictor {
  const sChurn = opts.sChurn ?? 0,
    sTmin = opts.sTmin ?? 0,
    sTmax = opts.sTmax ?? Infinity,
    sNoise = opts.sNoise ?? 1;
  checkPositiveInt("Heun (EDM)", "steps", steps);
  for (const [k, v] of [
    ["sChurn", sChurn],
    ["sTmin", sTmin],
    ["sNoise", sNoise],
  ] as const) {
    if (!(v >= 0 && Number.isFinite(v))) throw new Error(`Heun (EDM): "${k}" must be a non-negative number (got ${v})`);
  }
  if (!(sTmax >= sTmin)) throw new Error(`Heun (EDM): "sTmax" must be ≥ sTmin (got ${sTmax} < ${sTmin})`);
  const gammaMax = Math.min(sChurn / steps, Math.SQRT2 - 1);
  return {
    name: "heun",
    async update(x, t, s, ctx): Promise<Update> {
      const { sde } = ctx;
      const sigT = noiseLevel(sde, t),
        sigS = noiseLevel(sde, s);
      let y = scaled(x, 1 / sde.meanCoef(t));
      let sigHat = sigT,
        tHat = t;
      const gamma = sigT >= sTmin && sigT <= sTmax ? gammaMax : 0;
      if (gamma > 0) {
        sigHat = Math.min(sigT * (1 + gamma), noiseLevel(sde, sde.T));
        tHat = timeOfNoiseLevel(sde, sigHat, t, sde.T);
        y = addNoise(y, Math.sqrt(Math.max(sigHat * sigHat - sigT * sigT, 0)) * sNoise, ctx.rng);
      }
      const h = sigS - sigHat;
      const d1 = await slope(y, tHat, sigHat, ctx);
      const yEuler = lincomb(1, y, h, d1);
      const d2 = await slope(yEuler, s, sigS, ctx);
      const ys = y.map((v, i) => v + 0.5 * h * (d1[i]! + d2[i]!));
      const xs = scaled(ys, sde.meanCoef(s));
      return { x: xs, xMean: xs };
    },
  };
}
