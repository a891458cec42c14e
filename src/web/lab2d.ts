/**
 * The 2-D playground's engine work, platform-neutral (the page's worker and the Node tests run this
 * same code): a training run that draws exactly what `tasks/train.ts` draws for the same config
 * (step k's batch and noise from Rng(seed).fork(k), initial parameters from Rng(seed).fork(0xfeed)),
 * so a page run reproduces `scoregen train` for the same settings; sampling with any registry
 * sampler; the score field on a grid; per-point log-likelihood by the probability-flow ODE.
 */
import * as E from "../engine/index.ts";
import type { ParamTree } from "../engine/init.ts";
import { logLikelihood } from "../likelihood/likelihood.ts";
import { type Objective, drawBatch, drawNoise, traceLoss } from "../losses/objectives.ts";
import { EngineNetwork } from "../models/network.ts";
import { type ModelSpec, mlpSpec } from "../models/registry.ts";
import { Rng } from "../rng.ts";
import { sample as runSampler } from "../sampling/registry.ts";
import type { StepInfo } from "../sampling/types.ts";
import type { ScoreModel } from "../score.ts";
import { type Sde, asScoreModel, sdeByName } from "../sde/index.ts";

/** Settings of a 2-D run (the CLI flags of `scoregen train` for points, with their defaults). */
export interface Lab2DSettings {
  sde: string;
  loss: Objective;
  batch: number;
  lr: number;
  warmup: number;
  clip: number;
  ema: number;
  seed: number;
  hidden: number;
  layers: number;
  dtype: "float32" | "float64";
}

export const LAB2D_DEFAULTS: Lab2DSettings = {
  sde: "vp",
  loss: "dsm",
  batch: 512,
  lr: 2e-3,
  warmup: 100,
  clip: 1,
  ema: 0.999,
  seed: 0,
  hidden: 128,
  layers: 3,
  dtype: "float32",
};

/** The training config (model, SDE, objective, optimizer) the CLI builds from the same flags. */
export function lab2dConfig(s: Lab2DSettings): {
  model: ModelSpec;
  sde: string;
  objective: Objective;
  optimizer: E.OptimizerConfig;
  batch: number;
  seed: number;
} {
  const ncsn = s.loss === "ncsn";
  const model = mlpSpec(
    2,
    { hidden: s.hidden, layers: s.layers, ...(ncsn ? { fourierScale: 0.5 } : {}) },
    { parameterization: "eps", condition: ncsn ? "logsigma" : "time", dtype: s.dtype },
  );
  return {
    model,
    sde: s.sde,
    objective: s.loss,
    batch: s.batch,
    seed: s.seed,
    optimizer: {
      kind: "adam",
      lr: s.lr,
      warmup: s.warmup,
      clipNorm: s.clip > 0 ? s.clip : undefined,
      emaDecay: s.ema > 0 ? s.ema : undefined,
    },
  };
}

/** Rows [n·2] drawn with an explicit stream (a built-in dataset's sampler, or drawn points). */
export type PointSource = (n: number, rng: Rng) => Float64Array;

/** Points drawn by hand, resampled with replacement plus a little Gaussian jitter (std in data units). */
export function drawnPoints(points: Float64Array, jitter = 0.05): PointSource {
  const m = points.length / 2;
  if (!Number.isInteger(m) || m < 1) throw new Error("drawn data: draw at least one point (x, y pairs)");
  return (n, rng) => {
    const out = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      const j = rng.int(m);
      out[2 * i] = points[2 * j]! + jitter * rng.normal();
      out[2 * i + 1] = points[2 * j + 1]! + jitter * rng.normal();
    }
    return out;
  };
}

/** One training run in progress. */
export class Lab2D {
  readonly sde: Sde;
  private constructor(
    readonly settings: Lab2DSettings,
    readonly spec: ModelSpec,
    private readonly trainer: E.Trainer,
    private readonly data: PointSource,
  ) {
    this.sde = sdeByName(settings.sde);
  }

  static async create(settings: Lab2DSettings, data: PointSource): Promise<Lab2D> {
    const cfg = lab2dConfig(settings);
    const ps = E.ParamScope.create(cfg.model.dtype);
    const { loss, inputs } = traceLoss(cfg.objective, cfg.model, ps, cfg.batch);
    const init = ps.init(new Rng(cfg.seed).fork(0xfeed));
    const trainer = await E.Trainer.create(ps, loss, inputs, init, cfg.optimizer);
    return new Lab2D(settings, cfg.model, trainer, data);
  }

  get step(): number {
    return this.trainer.step;
  }

  /** The feeds of step k (0-based), drawn exactly as tasks/train.ts draws them. */
  batchFeeds(k: number): Record<string, E.HostArray> {
    const s = this.settings,
      rng = new Rng(s.seed).fork(k);
    const x0 = this.data(s.batch, rng);
    return { x0, ...drawNoise(s.loss, s.batch, 2, rng), ...drawBatch(s.loss, this.spec, this.sde, s.batch, rng) };
  }

  /** One optimizer step; returns the loss. Throws on a non-finite loss. */
  async trainStep(): Promise<number> {
    const k = this.trainer.step;
    const r = await this.trainer.trainStep(this.batchFeeds(k));
    if (!Number.isFinite(r.loss))
      throw new Error(`training diverged at step ${k + 1} (loss ${r.loss}); lower the learning rate`);
    return r.loss;
  }

  /** Current parameters (the EMA when kept). */
  params(ema = true): ParamTree {
    return this.trainer.params(ema);
  }

  /** The score model of the current (EMA) parameters. */
  scoreModel(ema = true): ScoreModel {
    return asScoreModel(new EngineNetwork(this.spec, this.params(ema), this.sde), this.sde, this.spec.parameterization);
  }
}

/** The score s(x, t) on a g×g grid over [−extent, extent]² (row-major, y from top): [g²·2]. */
export async function scoreField(
  model: ScoreModel,
  extent: number,
  g: number,
  t: number,
): Promise<{ points: Float64Array; score: Float64Array }> {
  const points = new Float64Array(2 * g * g);
  for (let i = 0; i < g; i++)
    for (let j = 0; j < g; j++) {
      points[2 * (i * g + j)] = -extent + (2 * extent * (j + 0.5)) / g;
      points[2 * (i * g + j) + 1] = extent - (2 * extent * (i + 0.5)) / g;
    }
  const score = await model.score(points, new Float64Array(g * g).fill(t), g * g);
  return { points, score };
}

/** Samples with a registry sampler, keeping about `frames` snapshots of the particles for animation. */
export async function sampleWithFrames(
  name: string,
  model: ScoreModel,
  sde: Sde,
  n: number,
  seed: number,
  opts: { steps?: number; frames?: number; onStep?: (i: StepInfo) => void } = {},
): Promise<{ x: Float64Array; frames: Float64Array[]; nfe: number }> {
  const frames: Float64Array[] = [];
  const want = opts.frames ?? 40;
  const r = await runSampler(name, model, sde, {
    n,
    rng: new Rng(seed),
    ...(opts.steps ? { steps: opts.steps } : {}),
    onStep: (info) => {
      const every = Math.max(1, Math.floor((info.total ?? 100) / want));
      if (info.step % every === 0) frames.push(Float64Array.from(info.x));
      opts.onStep?.(info);
    },
  });
  frames.push(Float64Array.from(r.x));
  return { x: r.x, frames, nfe: r.nfe };
}

/** log p(x) in nats for points [n·2] by the probability-flow ODE with the exact 2-D divergence. */
export async function logLikelihood2D(model: ScoreModel, sde: Sde, x: Float64Array): Promise<Float64Array> {
  const r = await logLikelihood(model, sde, x, x.length / 2, {});
  return r.logp;
}
