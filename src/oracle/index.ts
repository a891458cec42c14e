export { GaussianMixture, type MixtureEval } from "./mixture.ts";
export { parseMixtureSpec, type MixtureSpec } from "./spec.ts";
export { MixtureOracle, mixtureOracle } from "./oracle.ts";
export { cholesky, choleskyInverse, choleskyLogDet } from "./linalg.ts";
export { fitByComponent, fitError, componentStd, type ComponentFit, type FitError } from "./stats.ts";
export { conditionMixture, type ConditionalMixture } from "./conditional.ts";
