import type { ScoreModel } from "../score.ts";
import type { Sde } from "./types.ts";

/**
 * What a network predicts: the score ∇ₓ log p_t itself, the noise ε in x = a(t)x₀ + s(t)ε (Ho et al.
 * 2020), or the clean data x₀. This module is the ONE place where outputs become scores
 * (samplers never switch on the parameterization).
 */
export type Parameterization = "score" | "eps" | "x0";

export const PARAMETERIZATIONS: readonly Parameterization[] = ["score", "eps", "x0"];

/**
 * Per-row affine map from network output to score: score = α_i·out + β_i·x, with
 *  - "score": α = 1, β = 0;
 *  - "eps":   score = −ε/s(t)            (α = −1/s, β = 0);
 *  - "x0":    score = (a(t)x₀ − x)/s(t)² (α = a/s², β = −1/s²)  (Tweedie / Vincent 2011).
 * Because it is affine in (out, x), the same coefficients convert vector–Jacobian products:
 * vᵀ∂score/∂x = α·vᵀ∂out/∂x + β·v.
 */
function coefficients(param: Parameterization, sde: Sde, t: number): { alpha: number; beta: number } {
  return scoreCoefficients(param, sde.meanCoef(t), sde.std(t));
}

/** (α, β) of score = α·out + β·x for a kernel with mean coefficient a and std s (see above). */
export function scoreCoefficients(param: Parameterization, a: number, s: number): { alpha: number; beta: number } {
  if (param === "score") return { alpha: 1, beta: 0 };
  if (param === "eps") return { alpha: -1 / s, beta: 0 };
  if (param === "x0") return { alpha: a / (s * s), beta: -1 / (s * s) };
  throw new Error(`unknown parameterization "${String(param)}"; use one of ${PARAMETERIZATIONS.join(", ")}`);
}

/** Applies score = α·out + β·other row by row: out, other [n·dim], t [n] → [n·dim]. */
function affineRows(
  param: Parameterization,
  sde: Sde,
  out: Float64Array,
  other: Float64Array,
  t: Float64Array,
  n: number,
): Float64Array {
  const dim = out.length / n;
  const res = new Float64Array(out.length);
  for (let i = 0; i < n; i++) {
    const { alpha, beta } = coefficients(param, sde, t[i]!);
    for (let j = i * dim; j < (i + 1) * dim; j++) res[j] = alpha * out[j]! + beta * other[j]!;
  }
  return res;
}

/** Network output → score. out, x [n·dim]; t [n] (one time per row) → score [n·dim]. */
export function outputToScore(
  param: Parameterization,
  sde: Sde,
  out: Float64Array,
  x: Float64Array,
  t: Float64Array,
  n: number,
): Float64Array {
  return affineRows(param, sde, out, x, t, n);
}

/** Network VJP vᵀ∂out/∂x → score VJP vᵀ∂score/∂x. outVjp, v [n·dim]; t [n] → [n·dim]. */
export function outputVjpToScoreVjp(
  param: Parameterization,
  sde: Sde,
  outVjp: Float64Array,
  v: Float64Array,
  t: Float64Array,
  n: number,
): Float64Array {
  return affineRows(param, sde, outVjp, v, t, n);
}

/** Score → what a network of the given parameterization would output (the inverse map). */
export function scoreToOutput(
  param: Parameterization,
  sde: Sde,
  score: Float64Array,
  x: Float64Array,
  t: Float64Array,
  n: number,
): Float64Array {
  const dim = score.length / n;
  const res = new Float64Array(score.length);
  for (let i = 0; i < n; i++) {
    const { alpha, beta } = coefficients(param, sde, t[i]!);
    for (let j = i * dim; j < (i + 1) * dim; j++) res[j] = (score[j]! - beta * x[j]!) / alpha;
  }
  return res;
}

/**
 * The data prediction x̂₀ = E[x₀ | x_t] from a score by Tweedie's formula,
 * x̂₀ = (x + s(t)²·score)/a(t) — the inverse of the "x0" map above, so it is exact for networks of
 * every parameterization once their output has become a score. x, score [n·dim] at one time t → [n·dim].
 */
export function dataPrediction(sde: Sde, x: Float64Array, score: Float64Array, t: number): Float64Array {
  const { alpha, beta } = scoreCoefficients("x0", sde.meanCoef(t), sde.std(t));
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (score[i]! - beta * x[i]!) / alpha;
  return out;
}

/** A network in its raw parameterization (e.g. an ε-predicting U-Net run by the engine). */
export interface RawNetwork {
  readonly dim: number;
  /** Raw output for x [n·dim], t [n] → [n·dim]. */
  forward(x: Float64Array, t: Float64Array, n: number): Promise<Float64Array>;
  /** Raw output and per-row vᵀ∂out/∂x. */
  forwardVjp(
    x: Float64Array,
    t: Float64Array,
    n: number,
    v: Float64Array,
  ): Promise<{ out: Float64Array; vjp: Float64Array }>;
}

/** Wraps a raw network as a ScoreModel (counting one nfe per call). */
export function asScoreModel(net: RawNetwork, sde: Sde, param: Parameterization): ScoreModel {
  coefficients(param, sde, sde.T); // validates `param` up front
  const model: ScoreModel = {
    dim: net.dim,
    nfe: 0,
    async score(x, t, n) {
      model.nfe++;
      return outputToScore(param, sde, await net.forward(x, t, n), x, t, n);
    },
    async scoreVjp(x, t, n, v) {
      model.nfe++;
      const { out, vjp } = await net.forwardVjp(x, t, n, v);
      return { score: outputToScore(param, sde, out, x, t, n), vjp: outputVjpToScoreVjp(param, sde, vjp, v, t, n) };
    },
  };
  return model;
}
