export {
  logLikelihood,
  encode,
  decode,
  EXACT_DIVERGENCE_MAX_DIM,
  type LikelihoodOptions,
  type LikelihoodResult,
  type OdeLikelihoodOptions,
} from "./likelihood.ts";
export {
  divergenceFromProbes,
  basisProbes,
  randomProbes,
  makeDivergence,
  type ProbeKind,
  type DivergenceResult,
} from "./divergence.ts";
export { uniformDequantize, bpdOffset, bitsPerDim } from "./dequantize.ts";
