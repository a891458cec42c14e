export type { Sde, LinearSdeSpec } from "./types.ts";
export { linearSde, isotropicGaussianLogProb, transitionKernel } from "./linear.ts";
export { veSde, type VeOptions } from "./ve.ts";
export { vpSde, subVpSde, type VpOptions } from "./vp.ts";
export {
  reverseSde,
  probabilityFlow,
  reverseDriftFromScore,
  probabilityFlowDriftFromScore,
  timeVector,
} from "./reverse.ts";
export { ddpmSchedule, ncsnSigmas, type DdpmSchedule, type DdpmOptions } from "./discrete.ts";
export {
  outputToScore,
  outputVjpToScoreVjp,
  dataPrediction,
  scoreToOutput,
  scoreCoefficients,
  asScoreModel,
  PARAMETERIZATIONS,
  type Parameterization,
  type RawNetwork,
} from "./parameterization.ts";
export { sdeByName, SDE_NAMES, type SdeName } from "./by-name.ts";
export { noiseLevel, logSnr, timeOfNoiseLevel, timeOfLogSnr } from "./noise-level.ts";
