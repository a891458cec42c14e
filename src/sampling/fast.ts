/**
 * The fast deterministic (and optionally stochastic) samplers, each the one PC loop with a
 * predictor made fresh for the run (multistep history lives in the predictor) on a named schedule.
 * `steps` counts outer steps; nfe = steps (2M) or 2·steps (2S, Heun), plus 1 for denoise "tweedie".
 */
import { dpmSolverPP2M, dpmSolverPP2MSde, dpmSolverPP2S } from "./dpm-solver.ts";
import { edmHeunPredictor, type ChurnOptions } from "./edm.ts";
import { runPredictorCorrector, samplerTimes } from "./pc.ts";
import { defaultDpmSchedule, type ScheduleOptions } from "./schedules.ts";
import type { Sampler } from "./types.ts";

/** Default outer steps of the fast samplers. */
export const FAST_DEFAULT_STEPS = 20;

/** DPM-Solver++(2M) (Lu et al. 2022), default grid per SDE (see defaultDpmSchedule). */
export const dpmSolverPP2MSampler: Sampler<ScheduleOptions> = async (model, sde, opts) =>
  runPredictorCorrector(
    model,
    sde,
    opts,
    dpmSolverPP2M(),
    null,
    samplerTimes("DPM-Solver++(2M)", sde, opts, FAST_DEFAULT_STEPS, defaultDpmSchedule),
    "DPM-Solver++(2M)",
  );

/** DPM-Solver++(2S), singlestep second order, default grid per SDE (see defaultDpmSchedule). */
export const dpmSolverPP2SSampler: Sampler<ScheduleOptions> = async (model, sde, opts) =>
  runPredictorCorrector(
    model,
    sde,
    opts,
    dpmSolverPP2S(),
    null,
    samplerTimes("DPM-Solver++(2S)", sde, opts, FAST_DEFAULT_STEPS, defaultDpmSchedule),
    "DPM-Solver++(2S)",
  );

/** SDE-DPM-Solver++(2M), stochastic, default grid per SDE (see defaultDpmSchedule). */
export const dpmSolverPP2MSdeSampler: Sampler<ScheduleOptions> = async (model, sde, opts) =>
  runPredictorCorrector(
    model,
    sde,
    opts,
    dpmSolverPP2MSde(),
    null,
    samplerTimes("SDE-DPM-Solver++(2M)", sde, opts, FAST_DEFAULT_STEPS, defaultDpmSchedule),
    "SDE-DPM-Solver++(2M)",
  );

/** EDM's Heun sampler (Karras et al. 2022, Alg. 1; Alg. 2 with sChurn > 0), Karras ρ = 7 grid by default. */
export const heunSampler: Sampler<ScheduleOptions & ChurnOptions> = async (model, sde, opts) => {
  const times = samplerTimes("Heun (EDM)", sde, opts, FAST_DEFAULT_STEPS, "karras");
  return runPredictorCorrector(model, sde, opts, edmHeunPredictor(times.length - 1, opts), null, times, "Heun (EDM)");
};
