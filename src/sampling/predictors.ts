import { transitionKernel } from "../sde/linear.ts";
import { reverseDriftFromScore } from "../sde/reverse.ts";
import type { Predictor, Update } from "./types.ts";
import { addNoise, lincomb, scoreAt } from "./util.ts";

/**
 * Euler–Maruyama on the reverse-time SDE (Song et al. 2021, eq. 6), from t to s = t − Δt:
 * x̄ = x − [f(x,t) − g(t)²·score]·Δt,  x = x̄ + g(t)·√Δt·z.
 */
export const eulerMaruyamaPredictor: Predictor = {
  name: "euler-maruyama",
  async update(x, t, s, ctx): Promise<Update> {
    const dt = t - s;
    const score = await scoreAt(ctx.model, x, t, ctx.n);
    const xMean = lincomb(1, x, -dt, reverseDriftFromScore(ctx.sde, x, score, t, 1));
    return { x: addNoise(xMean, ctx.sde.diffusion(t) * Math.sqrt(dt), ctx.rng), xMean };
  },
};

/**
 * Reverse diffusion (Song et al. 2021, eq. 46): with the forward step x_t = x_s + f + G·z from
 * `sde.discretize`, x̄ = x − f + G²·score and x = x̄ + G·z.
 */
export const reverseDiffusionPredictor: Predictor = {
  name: "reverse-diffusion",
  async update(x, t, s, ctx): Promise<Update> {
    const { f, G } = ctx.sde.discretize(x, t, t - s);
    const score = await scoreAt(ctx.model, x, t, ctx.n);
    const xMean = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) xMean[i] = x[i]! - f[i]! + G * G * score[i]!;
    return { x: addNoise(xMean, G, ctx.rng), xMean };
  },
};

/** Reverse-step variance of ancestral sampling: "beta" = G² (Ho et al.'s σ² = β), "posterior" = β̃. */
export type AncestralVariance = "beta" | "posterior";

/**
 * Ancestral sampling (Ho et al. 2020 Alg. 2; Song et al. 2021 App. F) for any linear SDE. With the
 * forward transition x_t = r·x_s + G·z (r = a(t)/a(s)):
 * x̄ = (x + G²·score)/r  (E[x_s | x_t] by Tweedie on one step), x = x̄ + σ·z with
 * σ² = G² ("beta": DDPM's σ_t² = β_t, score_sde's VP ancestral) or
 * σ² = G²·s(s)²/s(t)² ("posterior": β̃, SMLD ancestral σ²_{i−1}(σ_i² − σ²_{i−1})/σ_i² for VE).
 */
export function ancestralPredictor(variance: AncestralVariance): Predictor {
  return {
    name: "ancestral",
    async update(x, t, s, ctx): Promise<Update> {
      const { ratio, G2 } = transitionKernel(ctx.sde, s, t);
      const score = await scoreAt(ctx.model, x, t, ctx.n);
      const xMean = lincomb(1 / ratio, x, G2 / ratio, score);
      const sdS = ctx.sde.std(s),
        sdT = ctx.sde.std(t);
      const noiseVar = variance === "beta" ? G2 : (G2 * sdS * sdS) / (sdT * sdT);
      return { x: addNoise(xMean, Math.sqrt(noiseVar), ctx.rng), xMean };
    },
  };
}

/**
 * DDIM (Song, Meng & Ermon 2021, eq. 12) written for any linear SDE, from t to s:
 * x̂₀ = (x + s(t)²·score)/a(t), ε̂ = −s(t)·score,
 * x̄ = a(s)·x̂₀ + √(s(s)² − σ_η²)·ε̂,  x = x̄ + σ_η·z,
 * σ_η = η·√(β̃) with β̃ = G²·s(s)²/s(t)² the posterior variance. η = 0: deterministic;
 * η = 1: the ancestral step with the posterior variance.
 */
export function ddimPredictor(eta: number): Predictor {
  if (!(eta >= 0)) throw new Error(`DDIM: "eta" must be ≥ 0 (got ${eta})`);
  return {
    name: "ddim",
    async update(x, t, s, ctx): Promise<Update> {
      const { sde } = ctx;
      const aT = sde.meanCoef(t),
        aS = sde.meanCoef(s),
        sdT = sde.std(t),
        sdS = sde.std(s);
      const { G2 } = transitionKernel(sde, s, t);
      const sigma2 = Math.min((eta * eta * G2 * (sdS * sdS)) / (sdT * sdT), sdS * sdS);
      const score = await scoreAt(ctx.model, x, t, ctx.n);
      // x̄ = (aS/aT)·x + [aS·sdT²/aT − √(sdS² − σ²)·sdT]·score
      const xMean = lincomb(aS / aT, x, (aS * sdT * sdT) / aT - Math.sqrt(sdS * sdS - sigma2) * sdT, score);
      return { x: addNoise(xMean, Math.sqrt(sigma2), ctx.rng), xMean };
    },
  };
}

export type PredictorName = "reverse-diffusion" | "euler-maruyama" | "ancestral" | "ddim" | "none";
export const PREDICTOR_NAMES: readonly PredictorName[] = [
  "reverse-diffusion",
  "euler-maruyama",
  "ancestral",
  "ddim",
  "none",
];

/** Default ancestral variance: "posterior" for VE (SMLD ancestral), "beta" otherwise (DDPM), as score_sde. */
export function defaultAncestralVariance(sdeName: string): AncestralVariance {
  return sdeName === "ve" ? "posterior" : "beta";
}

/** A predictor by name ("none" → null). */
export function predictorByName(
  name: string,
  opts: { eta?: number; variance?: AncestralVariance; sdeName: string },
): Predictor | null {
  switch (name) {
    case "reverse-diffusion":
      return reverseDiffusionPredictor;
    case "euler-maruyama":
      return eulerMaruyamaPredictor;
    case "ancestral":
      return ancestralPredictor(opts.variance ?? defaultAncestralVariance(opts.sdeName));
    case "ddim":
      return ddimPredictor(opts.eta ?? 0);
    case "none":
      return null;
    default:
      throw new Error(`unknown predictor "${name}"; use one of ${PREDICTOR_NAMES.join(", ")}`);
  }
}
