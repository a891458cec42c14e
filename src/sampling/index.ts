export type {
  Constraint,
  StepInfo,
  Denoise,
  CommonSampleOptions,
  SampleResult,
  Sampler,
  StepContext,
  Update,
  Predictor,
  Corrector,
} from "./types.ts";
export {
  eulerMaruyamaPredictor,
  reverseDiffusionPredictor,
  ancestralPredictor,
  ddimPredictor,
  predictorByName,
  defaultAncestralVariance,
  PREDICTOR_NAMES,
  type PredictorName,
  type AncestralVariance,
} from "./predictors.ts";
export {
  langevinCorrector,
  annealedLangevinCorrector,
  correctorByName,
  CORRECTOR_NAMES,
  type CorrectorName,
} from "./correctors.ts";
export {
  runPredictorCorrector,
  samplerTimes,
  pcSampler,
  eulerMaruyamaSampler,
  ancestralSampler,
  ddimSampler,
  aldSampler,
  ALD_DEFAULTS,
  type PcOptions,
} from "./pc.ts";
export {
  solveOde,
  ODE_METHODS,
  type OdeFunction,
  type OdeMethod,
  type OdeOptions,
  type OdeResult,
} from "./ode-solver.ts";
export { odeSampler, integrateProbabilityFlow, type OdeSamplerOptions } from "./ode.ts";
export { denoiseFinal } from "./common.ts";
export { timeGrid } from "./util.ts";
export {
  SAMPLERS,
  SAMPLER_NAMES,
  getSampler,
  parseSamplerOptions,
  sample,
  type SamplerName,
  type SamplerEntry,
  type OptionSpec,
  type AnySamplerOptions,
} from "./registry.ts";
export { SCHEDULES, SCHEDULE_NAMES, scheduleTimes, type ScheduleName, type ScheduleOptions } from "./schedules.ts";
export { dpmSolverPP2M, dpmSolverPP2S, dpmSolverPP2MSde } from "./dpm-solver.ts";
export { edmHeunPredictor, type ChurnOptions } from "./edm.ts";
export {
  dpmSolverPP2MSampler,
  dpmSolverPP2SSampler,
  dpmSolverPP2MSdeSampler,
  heunSampler,
  FAST_DEFAULT_STEPS,
} from "./fast.ts";
export { constrainedPredictor, constrainedCorrector, renoise } from "./constraint.ts";
