/**
 * Training orchestration: one compiled training step (engine Trainer) fed with host-drawn batches,
 * checkpoints every K steps and at the end (or on abort), a loss log, and exact resumption:
 * every random number of step k comes from Rng(seed).fork(k), so a resumed run replays the
 * same stream an uninterrupted one would have drawn.
 *
 * Platform-neutral: checkpoints and the loss log go through a {@link RunStore} (a locked folder
 * of atomic files in Node, see src/io/run-folder.ts and train-node.ts; memory in tests).
 */
import * as E from "../engine/index.ts";
import { type ParamTree, diffParams } from "../engine/init.ts";
import { type Objective, type ObjectiveOptions, drawBatch, drawNoise, traceLoss } from "../losses/objectives.ts";
import { dataDim, type ModelSpec, nullLabel } from "../models/registry.ts";
import { Rng } from "../rng.ts";
import { type Sde, sdeByName } from "../sde/index.ts";
import { DivergenceMonitor } from "./divergence.ts";
import type { RunStore, StateTensor } from "./run-store.ts";

/** A batch of training examples: n rows [n·dim] and, for labeled data, their classes [n]. */
export interface Batch {
  x: Float32Array | Float64Array;
  y?: Int32Array;
}

/** Where training examples come from: `sample(n, rng)` draws a batch (with replacement). */
export interface TrainData {
  readonly dim: number;
  /** Number of classes of the labels, when the data is labeled. */
  readonly classes?: number;
  sample(n: number, rng: Rng): Batch;
}

/** Unlabeled data from a function that returns rows [n·dim]. */
export const unlabeled = (dim: number, rows: (n: number, rng: Rng) => Float64Array): TrainData => ({
  dim,
  sample: (n, rng) => ({ x: rows(n, rng) }),
});

/** Everything that defines a run; stored in the checkpoint's config.json. */
export interface TrainConfig {
  model: ModelSpec;
  sde: string;
  objective: Objective;
  objectiveOptions?: ObjectiveOptions;
  optimizer: E.OptimizerConfig;
  batch: number;
  seed: number;
  /** Free-form description of the data (name, file), for the record. */
  data?: Record<string, unknown>;
  /** How the run was asked to go (target steps, checkpoint cadence, checkpoints kept), for resuming it. */
  schedule?: { steps: number; checkpointEvery: number; keep: number };
}

export interface TrainOptions {
  /** Train until this many total steps. */
  steps: number;
  /** Where checkpoints and the loss log go (written every `checkpointEvery` steps and at the end). */
  store?: RunStore;
  checkpointEvery?: number;
  /** Continue from the store's newest checkpoint if there is one. */
  resume?: boolean;
  /** Stop early (e.g. a signal): the loop saves a checkpoint and returns with `stopped`. */
  signal?: AbortSignal;
  onStep?: (info: { step: number; loss: number; gradNorm: number }) => void;
  /** Warnings that do not stop training (e.g. the loss staying far above its best). */
  onWarning?: (message: string) => void;
}

export interface TrainResult {
  params: ParamTree;
  /** EMA parameters when the optimizer keeps an EMA, else the parameters. */
  emaParams: ParamTree;
  losses: number[];
  step: number;
  stopped: boolean;
}

/** The SDE a config names (ve | vp | subvp). */
export const sdeOf = (cfg: TrainConfig): Sde => sdeByName(cfg.sde);

export async function train(cfg: TrainConfig, data: TrainData, opts: TrainOptions): Promise<TrainResult> {
  const spec = cfg.model,
    sde = sdeOf(cfg),
    dim = dataDim(spec);
  if (data.dim !== dim)
    throw new Error(`training data has dimension ${data.dim} but the model expects ${dim} (shape [${spec.dataShape}])`);
  const ps = E.ParamScope.create(spec.dtype);
  const { loss, inputs } = traceLoss(cfg.objective, spec, ps, cfg.batch);
  let init = ps.init(new Rng(cfg.seed).fork(0xfeed));
  const ck = opts.resume ? await opts.store?.loadLatest() : undefined;
  if (ck) {
    const problems = diffParams(ck.params, init);
    if (problems.length)
      throw new Error(
        `the checkpoint at step ${ck.step} does not match the model of its config:\n${problems.map((p) => `  - ${p}`).join("\n")}\nFix: resume with the settings the run was trained with, or start a new run`,
      );
    init = ck.params;
  }
  const trainer = await E.Trainer.create(ps, loss, inputs, init, cfg.optimizer);
  if (ck)
    trainer.loadState({
      ...Object.fromEntries([...ck.extra].map(([k, t]) => [k, t.data as E.HostArray])),
      ...Object.fromEntries([...init].map(([k, p]) => [E.paramFeed(k), p.data])),
    });
  const losses: number[] = [];
  const store = opts.store;
  let saved = trainer.step;
  const save = async () => {
    if (store && trainer.step !== saved) {
      await store.save(checkpointOf(cfg, trainer));
      saved = trainer.step;
    }
  };
  await store?.startLossLog(trainer.step);
  const every = opts.checkpointEvery ?? 1000;
  const monitor = new DivergenceMonitor(50, 2, trainer.step === 0);
  let stopped = false;
  while (trainer.step < opts.steps) {
    if (opts.signal?.aborted) {
      stopped = true;
      break;
    }
    const step = trainer.step;
    const rng = new Rng(cfg.seed).fork(step);
    const batch = data.sample(cfg.batch, rng);
    if (spec.classes && !batch.y)
      throw new Error(`the model is class-conditional (${spec.classes} classes) but the training data has no labels`);
    if (spec.labelDropout) batch.y = dropLabels(batch.y!, spec.labelDropout, nullLabel(spec), rng.fork(0xd0));
    const feeds: Record<string, E.HostArray> = {
      x0: batch.x,
      ...drawNoise(cfg.objective, cfg.batch, dim, rng, cfg.objectiveOptions),
      ...drawBatch(cfg.objective, spec, sde, cfg.batch, rng, cfg.objectiveOptions),
    };
    if (spec.classes) feeds.y = BigInt64Array.from(batch.y!, (v) => BigInt(v));
    const r = await trainer.trainStep(feeds);
    if (!Number.isFinite(r.loss))
      throw new Error(
        `training diverged at step ${step + 1} (loss ${r.loss}); lower the learning rate or enable gradient clipping${saved > 0 ? ` (the checkpoint of step ${saved} is kept)` : ""}`,
      );
    losses.push(r.loss);
    await store?.appendLoss([{ step: step + 1, loss: r.loss, gradNorm: r.gradNorm }]);
    const warning = monitor.push(step + 1, r.loss);
    if (warning) opts.onWarning?.(`${warning}; lower the learning rate (--lr) or enable gradient clipping (--clip)`);
    opts.onStep?.({ step: step + 1, ...r });
    if (trainer.step % every === 0) await save();
  }
  await save();
  return { params: trainer.params(), emaParams: trainer.params(true), losses, step: trainer.step, stopped };
}

/** Label dropout for classifier-free guidance: each label becomes `none` with probability p (y [n] → new [n]). */
export function dropLabels(y: Int32Array, p: number, none: number, rng: Rng): Int32Array {
  return y.map((k) => (rng.uniform() < p ? none : k));
}

/** Checkpoint = parameters + optimizer state (moments, EMA, step) as extras + the run config. */
function checkpointOf(cfg: TrainConfig, trainer: E.Trainer) {
  const state = trainer.stateTensors();
  const extra = new Map<string, StateTensor>(
    Object.entries(state)
      .filter(([k]) => !k.startsWith("p:"))
      .map(([k, v]) => [k, { shape: [v.length], data: v as StateTensor["data"] }]),
  );
  return { step: trainer.step, config: cfg, params: trainer.params(), extra };
}
