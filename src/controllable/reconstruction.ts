/**
 * Reconstruction guidance for inpainting (Ho et al. 2022, "Video Diffusion Models", eq. 7): the
 * replacement method pins the known part, but the unknown part sees it only through the score
 * network. Guidance adds the gradient of a Gaussian surrogate of log p_t(y_A | x_t) built on
 * Tweedie's denoiser x̂₀(x) = (x + s_t²·s(x, t)) / a_t:
 *   Δs(x, t) = w·λ(t)·(∂x̂₀/∂x)ᵀ·M(y − x̂₀(x)) = −(w λ(t)/2)·∇ₓ‖M(y − x̂₀(x))‖²,
 *   (∂x̂₀/∂x)ᵀ v = (v + s_t²·(∂s/∂x)ᵀ v) / a_t          (one vector–Jacobian product of the score),
 * with M the known-entries mask, w the weight and λ(t) a named weighting (`RECONSTRUCTION_WEIGHTINGS`).
 */
import type { ScoreModel } from "../score.ts";
import type { Sde } from "../sde/types.ts";

/**
 * λ(t) from the perturbation kernel's mean coefficient a, std s and the data's per-entry std σ_d.
 * - "snr" (Ho et al.): a²/s², the signal-to-noise ratio — weak at high noise, where the network's
 *   x̂₀ (its score error times s²/a) is unreliable; the default.
 * - "gaussian": 1/r², r² = σ_d² s² / (a² σ_d² + s²) the variance of x₀ given x_t when the data is
 *   N(μ, σ_d² I). For such data, at w = 1 the guided score is exactly ∇ₓ log p_t(x | x₀,A = y_A)
 *   (Song et al. 2023 "ΠGDM" use this r²); with networks it is unstable at high noise.
 */
export const RECONSTRUCTION_WEIGHTINGS = {
  snr: (a: number, s: number) => (a * a) / (s * s),
  gaussian: (a: number, s: number, dataStd: number) => (a * a * dataStd ** 2 + s * s) / (dataStd ** 2 * s * s),
} as const;
export type ReconstructionWeighting = keyof typeof RECONSTRUCTION_WEIGHTINGS;

export interface ReconstructionOptions {
  /** w ≥ 0: the strength (0 = no guidance; MNIST inpainting with "snr": ~20). */
  weight: number;
  /** λ(t) (default "snr"). */
  weighting?: ReconstructionWeighting;
  /** σ_d for the "gaussian" weighting: per-entry std of the data in its own range (default 1). */
  dataStd?: number;
}

function checkOptions(o: ReconstructionOptions): Required<ReconstructionOptions> {
  const { weight, weighting = "snr", dataStd = 1 } = o;
  if (!(Number.isFinite(weight) && weight >= 0))
    throw new Error(`reconstruction guidance: the weight must be a number ≥ 0 (got ${weight})`);
  if (!Object.hasOwn(RECONSTRUCTION_WEIGHTINGS, weighting))
    throw new Error(
      `reconstruction guidance: unknown weighting "${weighting}"; use ${Object.keys(RECONSTRUCTION_WEIGHTINGS).join(" or ")}`,
    );
  if (!(Number.isFinite(dataStd) && dataStd > 0))
    throw new Error(`reconstruction guidance: the data std must be a number > 0 (got ${dataStd})`);
  return { weight, weighting, dataStd };
}

/**
 * The score of `model` plus the reconstruction-guidance term for data y [n·dim] known where
 * known = 1 ([n·dim]; the batch's rows are y's rows). Each evaluation costs one score and one
 * score VJP. Sampling only: the guided model's own scoreVjp refuses.
 */
export function reconstructionGuided(
  model: ScoreModel,
  sde: Sde,
  y: ArrayLike<number>,
  known: Uint8Array,
  opts: ReconstructionOptions,
): ScoreModel {
  const { weight, weighting, dataStd } = checkOptions(opts),
    lambda = RECONSTRUCTION_WEIGHTINGS[weighting];
  if (y.length !== known.length)
    throw new Error(`reconstruction guidance: data has ${y.length} entries but the mask has ${known.length}`);
  const d = model.dim;
  const guided: ScoreModel = {
    dim: d,
    nfe: 0,
    async score(x, t, n) {
      guided.nfe++;
      const s = await model.score(x, t, n);
      if (weight === 0) return s;
      if (x.length !== known.length)
        throw new Error(
          `reconstruction guidance: the batch has ${x.length} entries but the data and mask have ${known.length}`,
        );
      const v = new Float64Array(x.length);
      for (let i = 0; i < n; i++) {
        const a = sde.meanCoef(t[i]!),
          s2 = sde.std(t[i]!) ** 2;
        for (let j = i * d; j < (i + 1) * d; j++) if (known[j]) v[j] = y[j]! - (x[j]! + s2 * s[j]!) / a;
      }
      const { vjp } = await model.scoreVjp(x, t, n, v);
      for (let i = 0; i < n; i++) {
        const a = sde.meanCoef(t[i]!),
          sd = sde.std(t[i]!);
        const c = (weight * lambda(a, sd, dataStd)) / a;
        for (let j = i * d; j < (i + 1) * d; j++) s[j]! += c * (v[j]! + sd * sd * vjp[j]!);
      }
      return s;
    },
    async scoreVjp() {
      throw new Error(
        "reconstruction guidance gives no Hessian–vector products; use the guided model for sampling only",
      );
    },
  };
  return guided;
}
