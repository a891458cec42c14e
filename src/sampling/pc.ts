import type { ScoreModel } from "../score.ts";
import type { Sde } from "../sde/types.ts";
import { checkFinite, denoiseFinal, initialState, resolveCommon, stateLimit } from "./common.ts";
import { constrainedCorrector, constrainedPredictor } from "./constraint.ts";
import { correctorByName, type CorrectorName } from "./correctors.ts";
import { predictorByName, type AncestralVariance, type PredictorName } from "./predictors.ts";
import type { CommonSampleOptions, Corrector, Predictor, SampleResult, Sampler, StepContext } from "./types.ts";
import { scheduleTimes, type ScheduleName, type ScheduleOptions } from "./schedules.ts";
import { checkPositiveInt, timeGrid } from "./util.ts";

/**
 * THE predictor–corrector loop (Song et al. 2021, Alg. 1). For i = 0 … len(times)−2, with
 * t = times[i] and s = times[i+1] (decreasing): corrector at t, then predictor from t to s
 * (score_sde's order). Either piece may be null. Every discrete sampler here is this loop with
 * particular pieces; controllable generation wraps the pieces, never the loop: with
 * `opts.constraint` both pieces are wrapped (see constraint.ts) and the final state is pinned to
 * the data exactly. times [steps+1], from T down to eps.
 */
export async function runPredictorCorrector(
  model: ScoreModel,
  sde: Sde,
  opts: CommonSampleOptions,
  predictor: Predictor | null,
  corrector: Corrector | null,
  times: Float64Array,
  owner = "PC sampler",
): Promise<SampleResult> {
  const startNfe = model.nfe;
  const { n, dim, eps, denoise } = resolveCommon(owner, model, sde, opts, times.length - 1);
  const ctx: StepContext = { model, sde, n, dim, rng: opts.rng, eps };
  const c = opts.constraint;
  if (c && predictor) predictor = constrainedPredictor(predictor, c, opts.resample ?? 1);
  if (c && corrector) corrector = constrainedCorrector(corrector, c);
  let x = initialState(sde, opts, dim);
  let xMean = x;
  const total = times.length - 1;
  for (let i = 0; i < total; i++) {
    const t = times[i]!,
      s = times[i + 1]!;
    if (corrector) ({ x, xMean } = await corrector.update(x, t, s, ctx));
    if (predictor) ({ x, xMean } = await predictor.update(x, t, s, ctx));
    checkFinite(owner, x, i, t, stateLimit(sde));
    opts.onStep?.({ step: i, total, t: predictor ? s : t, x });
  }
  x = await denoiseFinal(denoise, x, xMean, model, sde, eps, n);
  if (c) x = c.impose(x, 1, 0, null);
  return { x, nfe: model.nfe - startNfe };
}

/** Options of the PC sampler (also the knobs of the named samplers built on it). */
export interface PcOptions extends ScheduleOptions {
  /** Predictor (name or object; default "reverse-diffusion"). */ predictor?: PredictorName | Predictor;
  /** Corrector (name or object; default "langevin"). */ corrector?: CorrectorName | Corrector;
  /** Langevin signal-to-noise ratio r (default 0.16). */ snr?: number;
  /** Corrector iterations per step (default 1 for Langevin, 10 for ALD). */ correctorSteps?: number;
  /** ALD base step ε (default 2e-5). */ stepLr?: number;
  /** DDIM η (default 0). */ eta?: number;
  /** Ancestral variance (default "posterior" for VE, "beta" otherwise). */ variance?: AncestralVariance;
}

function resolvePredictor(p: PcOptions["predictor"], opts: PcOptions, sde: Sde): Predictor | null {
  return typeof p === "string"
    ? predictorByName(p, { eta: opts.eta, variance: opts.variance, sdeName: sde.name })
    : (p ?? null);
}

function resolveCorrector(c: PcOptions["corrector"], opts: PcOptions): Corrector | null {
  return typeof c === "string" ? correctorByName(c, opts) : (c ?? null);
}

/**
 * The grid T → eps of `steps` steps (defaults from opts/sde) laid out by the named schedule
 * (opts.schedule, else `defaultSchedule`; see ./schedules.ts).
 */
export function samplerTimes(
  owner: string,
  sde: Sde,
  opts: CommonSampleOptions & ScheduleOptions,
  defaultSteps: number,
  defaultSchedule: ScheduleName | ((sdeName: string) => ScheduleName) = "uniform",
): Float64Array {
  const steps = opts.steps ?? defaultSteps;
  checkPositiveInt(owner, "steps", steps);
  const eps = opts.eps ?? sde.eps;
  if (!(eps > 0 && eps < sde.T)) throw new Error(`${owner}: "eps" must lie in (0, T=${sde.T}) (got ${eps})`);
  return scheduleTimes(
    opts.schedule ?? (typeof defaultSchedule === "function" ? defaultSchedule(sde.name) : defaultSchedule),
    sde,
    steps,
    eps,
    opts,
  );
}

/** Predictor–corrector sampler (default: reverse diffusion + Langevin, snr 0.16, sde.N steps). */
export const pcSampler: Sampler<PcOptions> = async (model, sde, opts) =>
  runPredictorCorrector(
    model,
    sde,
    opts,
    resolvePredictor(opts.predictor ?? "reverse-diffusion", opts, sde),
    resolveCorrector(opts.corrector ?? "langevin", opts),
    samplerTimes("PC sampler", sde, opts, sde.N),
    "PC sampler",
  );

/** Euler–Maruyama on the reverse-time SDE (predictor only), sde.N steps by default. */
export const eulerMaruyamaSampler: Sampler<ScheduleOptions> = async (model, sde, opts) =>
  runPredictorCorrector(
    model,
    sde,
    opts,
    predictorByName("euler-maruyama", { sdeName: sde.name }),
    null,
    samplerTimes("Euler–Maruyama sampler", sde, opts, sde.N),
    "Euler–Maruyama sampler",
  );

/** Ancestral sampling (DDPM for VP, SMLD ancestral for VE; predictor only), sde.N steps by default. */
export const ancestralSampler: Sampler<Pick<PcOptions, "variance"> & ScheduleOptions> = async (model, sde, opts) =>
  runPredictorCorrector(
    model,
    sde,
    opts,
    predictorByName("ancestral", { variance: opts.variance, sdeName: sde.name }),
    null,
    samplerTimes("ancestral sampler", sde, opts, sde.N),
    "ancestral sampler",
  );

/** DDIM (η = 0 deterministic, η > 0 stochastic; predictor only), 100 steps by default. */
export const ddimSampler: Sampler<Pick<PcOptions, "eta"> & ScheduleOptions> = async (model, sde, opts) =>
  runPredictorCorrector(
    model,
    sde,
    opts,
    predictorByName("ddim", { eta: opts.eta, sdeName: sde.name }),
    null,
    samplerTimes("DDIM sampler", sde, opts, 100),
    "DDIM sampler",
  );

/**
 * Annealed Langevin dynamics (Song & Ermon 2019, Alg. 1): corrector only, `steps` noise levels
 * σ_i = s(t_i) at t_i equally spaced from T to eps (geometric σ for VE), `correctorSteps` iterations
 * each. The grid gets one trailing copy of eps so the loop's last corrector call is at σ_L = s(eps).
 */
export const aldSampler: Sampler<Pick<PcOptions, "stepLr" | "correctorSteps">> = async (model, sde, opts) => {
  const L = opts.steps ?? ALD_DEFAULTS.levels;
  checkPositiveInt("ALD sampler", "steps", L);
  const eps = opts.eps ?? sde.eps;
  const times = new Float64Array(L + 1);
  if (L > 1) times.set(timeGrid(sde.T, eps, L - 1));
  times[L - 1] = eps;
  times[L] = eps;
  const corrector = correctorByName("ald", {
    stepLr: opts.stepLr,
    correctorSteps: opts.correctorSteps ?? ALD_DEFAULTS.correctorSteps,
  });
  return runPredictorCorrector(model, sde, opts, null, corrector, times, "ALD sampler");
};

/** ALD defaults: 100 noise levels × 10 Langevin iterations, ε = 2e-5. */
export const ALD_DEFAULTS = { levels: 100, correctorSteps: 10, stepLr: 2e-5 } as const;
