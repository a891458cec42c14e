import type * as E from "../../src/engine/index.ts";

/** Optimizer settings the trainer tests run every state layout under: AdamW with warmup, clipping and EMA; Adam with L2 and EMA; SGD with L2. */
export const OPTIMIZER_CONFIGS: E.OptimizerConfig[] = [
  { kind: "adamw", lr: 0.05, weightDecay: 0.1, warmup: 3, clipNorm: 0.5, emaDecay: 0.9 },
  { kind: "adam", lr: 0.05, weightDecay: 0.01, beta1: 0.8, emaDecay: 0.5 },
  { kind: "sgd", lr: 0.1, weightDecay: 0.01 },
];
