export { classifierGuided, classifierFreeGuided, MixtureClassifier, type NoisyClassifier } from "./guidance.ts";
export {
  maskConstraint,
  sampleConstrained,
  sampleExactConditional,
  repeatRows,
  namedMask,
  MASK_NAMES,
  type MaskName,
} from "./inpaint.ts";
export { grayConstraint, toGray, DECOUPLE } from "./colorize.ts";
export { slerp, interpolate, type Interpolation } from "./interpolate.ts";
export { compareConditional, type ConditionalGap } from "./study.ts";
export {
  reconstructionGuided,
  RECONSTRUCTION_WEIGHTINGS,
  type ReconstructionOptions,
  type ReconstructionWeighting,
} from "./reconstruction.ts";
