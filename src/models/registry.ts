/**
 * Model specs: the JSON that a checkpoint stores to rebuild its network. A spec names the
 * architecture, the data shape, what the raw output means (score, ε or x₀ — converted to a score
 * in src/sde/parameterization.ts only) and what the network is conditioned on.
 */
import type * as E from "../engine/index.ts";
import type { Parameterization, Sde } from "../sde/index.ts";
import { MLP_DEFAULTS, type MlpConfig, mlpScoreNet } from "./mlp.ts";
import { NCSNPP_DEFAULTS, type NcsnppConfig, ncsnpp } from "./ncsnpp.ts";
import { SCORENET_DEFAULTS, type ScoreNetConfig, scoreNet } from "./scorenet.ts";

export type ArchConfig = MlpConfig | ScoreNetConfig | NcsnppConfig;

export interface ModelSpec {
  arch: ArchConfig;
  /** Shape of one data point, e.g. [2] or [1, 28, 28]. */
  dataShape: number[];
  parameterization: Parameterization;
  /** "time": the network sees t; "logsigma": it sees log s(t) (NCSN's noise-level conditioning). */
  condition: "time" | "logsigma";
  dtype: "float32" | "float64";
  /** Number of classes for a class-conditional model (a label embedding); 0 or absent = unconditional. */
  classes?: number;
  /**
   * Classifier-free guidance (Ho & Salimans 2021): the probability with which a training label was
   * replaced by the null label `classes`; > 0 gives the label embedding one more row (the null label),
   * so the same network also gives the unconditional score.
   */
  labelDropout?: number;
}

/** The label the network reads as "no class" (only for specs trained with label dropout). */
export function nullLabel(spec: ModelSpec): number {
  if (!spec.classes || !(spec.labelDropout! > 0))
    throw new Error(
      "the model has no null label: classifier-free guidance needs a class-conditional model trained with label dropout (train --conditional --label-dropout 0.1)",
    );
  return spec.classes;
}

/** Spec of the default 2-D MLP (ε-prediction, time-conditioned). */
export function mlpSpec(dim: number, over: Partial<MlpConfig> = {}, rest: Partial<ModelSpec> = {}): ModelSpec {
  return {
    arch: { ...MLP_DEFAULTS, ...over, dim, kind: "mlp" },
    dataShape: [dim],
    parameterization: "eps",
    condition: "time",
    dtype: "float32",
    ...rest,
  };
}

/** Spec of the tutorial ScoreNet for C×28×28 images (ε-parameterized, time-conditioned). */
export function scoreNetSpec(over: Partial<ScoreNetConfig> = {}, rest: Partial<ModelSpec> = {}): ModelSpec {
  const arch = { ...SCORENET_DEFAULTS, ...over, kind: "scorenet" as const };
  return {
    arch,
    dataShape: [arch.inChannels, 28, 28],
    parameterization: "eps",
    condition: "time",
    dtype: "float32",
    ...rest,
  };
}

/** Spec of the small NCSN++-style residual U-Net for C×H×W images (H, W divisible by 4 by default). */
export function ncsnppSpec(
  dataShape: [number, number, number],
  over: Partial<NcsnppConfig> = {},
  rest: Partial<ModelSpec> = {},
): ModelSpec {
  const arch = { ...NCSNPP_DEFAULTS, ...over, inChannels: dataShape[0], kind: "ncsnpp" as const };
  return { arch, dataShape: [...dataShape], parameterization: "eps", condition: "time", dtype: "float32", ...rest };
}

/**
 * Traces the network: x [n, ...dataShape], c [n] (time or log σ), y [n] int64 class labels (for
 * class-conditional specs) → raw output [n, ...dataShape].
 */
export function traceNetwork(spec: ModelSpec, ps: E.ParamScope, x: E.Tensor, c: E.Tensor, y?: E.Tensor): E.Tensor {
  const classes = spec.classes ?? 0;
  if (classes > 0 && !y) throw new Error(`the model is class-conditional (${classes} classes): pass class labels`);
  const labels = classes > 0 ? { y: y!, classes: classes + (spec.labelDropout ? 1 : 0) } : undefined;
  switch (spec.arch.kind) {
    case "mlp":
      if (labels) throw new Error("the MLP score model is unconditional; class labels need an image model (scorenet)");
      return mlpScoreNet(spec.arch, ps, x, c);
    case "scorenet":
      return scoreNet(spec.arch, ps, x, c, labels);
    case "ncsnpp":
      return ncsnpp(spec.arch, ps, x, c, labels);
    default:
      throw new Error(
        `unknown model architecture '${(spec.arch as { kind: string }).kind}'; use one of: mlp, scorenet, ncsnpp`,
      );
  }
}

/** The network's conditioning value for time t. */
export function conditionFor(spec: ModelSpec, sde: Sde): (t: number) => number {
  return spec.condition === "logsigma" ? (t) => Math.log(sde.std(t)) : (t) => t;
}

export const dataDim = (spec: ModelSpec) => spec.dataShape.reduce((a, b) => a * b, 1);
