/**
 * DPM-Solver++ (Lu et al. 2022, "DPM-Solver++: Fast Solver for Guided Sampling of Diffusion
 * Probabilistic Models"): exponential integrators of the probability-flow ODE in data-prediction
 * form, in log-SNR time λ = log(a/s) (src/sde/noise-level.ts; a = 1 for VE). With the step
 * t → s, h = λ(s) − λ(t) > 0 and x̂₀ the Tweedie data prediction from the score
 * (src/sde/parameterization.ts, so every network parameterization works):
 *
 *   x_s = (s(s)/s(t))·x_t − a(s)·(e^{−h} − 1)·D            (Lu et al. 2022, Alg. 1–2)
 *
 * D = x̂₀(x_t, t) gives DDIM (first order). The predictors below are stateful (multistep history)
 * and made fresh per run; a call whose t is not the previous call's s starts a new history.
 */
import { dataPrediction } from "../sde/parameterization.ts";
import { logSnr, timeOfLogSnr } from "../sde/noise-level.ts";
import type { Sde } from "../sde/types.ts";
import type { Predictor, StepContext, Update } from "./types.ts";
import { addNoise, lincomb, scoreAt } from "./util.ts";

/** x̂₀ at (x, t): one score evaluation. */
async function denoised(x: Float64Array, t: number, ctx: StepContext): Promise<Float64Array> {
  return dataPrediction(ctx.sde, x, await scoreAt(ctx.model, x, t, ctx.n), t);
}

/** The exponential-integrator step x_s = (s(s)/s(t))·x − a(s)·expm1(−h)·D. */
function expStep(sde: Sde, x: Float64Array, t: number, s: number, h: number, d: Float64Array): Float64Array {
  return lincomb(sde.std(s) / sde.std(t), x, -sde.meanCoef(s) * Math.expm1(-h), d);
}

/** History of a multistep solver: the last data prediction, its λ and the time the step went to. */
interface History {
  lambda: number;
  x0: Float64Array;
  next: number;
}

/**
 * The second-order multistep correction (Lu et al. 2022, Alg. 2):
 * D = (1 + 1/(2r))·x̂₀(t) − 1/(2r)·x̂₀(t_prev), r = h_prev/h, or x̂₀(t) when there is no usable history.
 */
function multistepD(hist: History | null, t: number, lambdaT: number, h: number, x0: Float64Array): Float64Array {
  if (!hist || hist.next !== t) return x0;
  const r = (lambdaT - hist.lambda) / h;
  return lincomb(1 + 1 / (2 * r), x0, -1 / (2 * r), hist.x0);
}

/** DPM-Solver++(2M): one score evaluation per step; the first step is DDIM (first order). */
export function dpmSolverPP2M(): Predictor {
  let hist: History | null = null;
  return {
    name: "dpmpp-2m",
    async update(x, t, s, ctx): Promise<Update> {
      const x0 = await denoised(x, t, ctx);
      const lt = logSnr(ctx.sde, t),
        h = logSnr(ctx.sde, s) - lt;
      const d = multistepD(hist, t, lt, h, x0);
      hist = { lambda: lt, x0, next: s };
      const xs = expStep(ctx.sde, x, t, s, h, d);
      return { x: xs, xMean: xs };
    },
  };
}

/**
 * DPM-Solver++(2S) (Lu et al. 2022, Alg. 1 with r = ½): two score evaluations per step, at t and at
 * the log-SNR midpoint u; with r = ½ the combined prediction is x̂₀(u_mid, u) itself.
 */
export function dpmSolverPP2S(): Predictor {
  return {
    name: "dpmpp-2s",
    async update(x, t, s, ctx): Promise<Update> {
      const { sde } = ctx;
      const lt = logSnr(sde, t),
        h = logSnr(sde, s) - lt;
      const u = timeOfLogSnr(sde, lt + h / 2, s, t);
      const xu = expStep(sde, x, t, u, h / 2, await denoised(x, t, ctx));
      const xs = expStep(sde, x, t, s, h, await denoised(xu, u, ctx));
      return { x: xs, xMean: xs };
    },
  };
}

/**
 * SDE-DPM-Solver++(2M) (Lu et al. 2022, §5 and App. B, midpoint form), a stochastic multistep solver
 * of the reverse SDE: with D₀ = x̂₀(t), D₁ = (x̂₀(t) − x̂₀(t_prev))/r,
 * x_s = (s(s)/s(t))·e^{−h}·x + a(s)(1 − e^{−2h})·(D₀ + ½D₁) + s(s)·√(1 − e^{−2h})·z.
 */
export function dpmSolverPP2MSde(): Predictor {
  let hist: History | null = null;
  return {
    name: "dpmpp-2m-sde",
    async update(x, t, s, ctx): Promise<Update> {
      const { sde } = ctx;
      const x0 = await denoised(x, t, ctx);
      const lt = logSnr(sde, t),
        h = logSnr(sde, s) - lt;
      const d = multistepD(hist, t, lt, h, x0); // D₀ + ½D₁
      hist = { lambda: lt, x0, next: s };
      const decay = -Math.expm1(-2 * h); // 1 − e^{−2h}
      const xMean = lincomb((sde.std(s) / sde.std(t)) * Math.exp(-h), x, sde.meanCoef(s) * decay, d);
      return { x: addNoise(xMean, sde.std(s) * Math.sqrt(decay), ctx.rng), xMean };
    },
  };
}
