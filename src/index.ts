/** scoregen public API (platform-neutral; use "scoregen/node" in Node to install the ORT backend). */
export * as engine from "./engine/index.ts";
export { Rng } from "./rng.ts";
export type { ScoreModel, NoisyClassifier } from "./score.ts";
export * as sde from "./sde/index.ts";
export * as sampling from "./sampling/index.ts";
export * as likelihood from "./likelihood/index.ts";
export * as oracle from "./oracle/index.ts";
export * as controllable from "./controllable/index.ts";
export { OBJECTIVES, type Objective, traceLoss, drawBatch, drawNoise } from "./losses/objectives.ts";
export { mlpSpec, ncsnppSpec, scoreNetSpec, traceNetwork, type ModelSpec } from "./models/registry.ts";
export { EngineNetwork } from "./models/network.ts";
export {
  train,
  unlabeled,
  type TrainConfig,
  type TrainData,
  type TrainOptions,
  type TrainResult,
  type Batch,
} from "./tasks/train.ts";
export { memoryRunStore, type RunStore } from "./tasks/run-store.ts";
