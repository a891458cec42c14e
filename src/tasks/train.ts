/**
 * Training orchestration: one compiled training step (engine Trainer) fed with host-drawn batches,
 * checkpoints every K steps and at the end (or on abort), a loss log, and exact resumption:
 * every random number of step k comes from Rng(seed).fork(k), so a resumed run replays the
 * same stream an uninterrupted one would have drawn.
 */
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as E from "../engine/index.ts";
import { type ParamTree, loadCheckpoint, saveCheckpoint } from "../io/params.ts";
import { type Objective, type ObjectiveOptions, drawBatch, drawNoise, traceLoss } from "../losses/objectives.ts";
import { dataDim, type ModelSpec } from "../models/registry.ts";
import { Rng } from "../rng.ts";
import { type Sde, sdeByName } from "../sde/index.ts";

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
}

export interface TrainOptions {
  /** Train until this many total steps. */
  steps: number;
  /** Checkpoint folder (written every `checkpointEvery` steps and at the end). */
  outDir?: string;
  checkpointEvery?: number;
  /** Continue from the checkpoint in outDir if there is one. */
  resume?: boolean;
  /** Stop early (e.g. Ctrl-C): the loop saves a checkpoint and returns. */
  signal?: AbortSignal;
  onStep?: (info: { step: number; loss: number; gradNorm: number }) => void;
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
  let saved: Record<string, E.HostArray> | undefined;
  if (opts.resume && opts.outDir) {
    const ck = await loadCheckpoint(opts.outDir, init).catch((e: Error) =>
      /not found|missing/.test(e.message) ? undefined : Promise.reject(e),
    );
    if (ck) {
      init = ck.params;
      saved = Object.fromEntries([...ck.extra].map(([k, t]) => [k, t.data as E.HostArray]));
    }
  }
  const trainer = await E.Trainer.create(ps, loss, inputs, init, cfg.optimizer);
  if (saved)
    trainer.loadState({ ...saved, ...Object.fromEntries([...init].map(([k, p]) => [E.paramFeed(k), p.data])) });
  const losses: number[] = [];
  const save = () => (opts.outDir ? saveRun(opts.outDir, cfg, trainer) : Promise.resolve());
  if (opts.outDir) await startLossLog(opts.outDir, trainer.step);
  const every = opts.checkpointEvery ?? 1000;
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
    const feeds: Record<string, E.HostArray> = {
      x0: batch.x,
      ...drawNoise(cfg.objective, cfg.batch, dim, rng, cfg.objectiveOptions),
      ...drawBatch(cfg.objective, spec, sde, cfg.batch, rng, cfg.objectiveOptions),
    };
    if (spec.classes) feeds.y = BigInt64Array.from(batch.y!, (v) => BigInt(v));
    const r = await trainer.trainStep(feeds);
    if (!Number.isFinite(r.loss))
      throw new Error(
        `training diverged at step ${step + 1} (loss ${r.loss}); lower the learning rate or enable gradient clipping`,
      );
    losses.push(r.loss);
    if (opts.outDir) await appendFile(join(opts.outDir, "loss.csv"), `${step + 1},${r.loss},${r.gradNorm}\n`);
    opts.onStep?.({ step: step + 1, ...r });
    if (trainer.step % every === 0) await save();
  }
  await save();
  return { params: trainer.params(), emaParams: trainer.params(true), losses, step: trainer.step, stopped };
}

/** Checkpoint = parameters + optimizer state (moments, EMA, step) as extras + the run config. */
async function saveRun(dir: string, cfg: TrainConfig, trainer: E.Trainer): Promise<void> {
  const state = trainer.stateTensors();
  const extra = Object.fromEntries(
    Object.entries(state)
      .filter(([k]) => !k.startsWith("p:"))
      .map(([k, v]) => [k, { shape: [v.length], data: v as Float32Array }]),
  );
  await saveCheckpoint(dir, { params: trainer.params(), config: cfg, step: trainer.step, extra });
}

/** loss.csv (step,loss,grad_norm): a fresh header, or on resume only the lines up to `step`. */
async function startLossLog(dir: string, step: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, "loss.csv");
  const old = step > 0 ? await readFile(path, "utf8").catch(() => "") : "";
  const kept = old.split("\n").filter((l) => /^\d+,/.test(l) && Number(l.split(",")[0]) <= step);
  await writeFile(path, ["step,loss,grad_norm", ...kept].join("\n") + "\n");
}

/** A trained model from a checkpoint folder: its config and (EMA, when kept) parameters. */
export async function loadRun(
  dir: string,
  preferEma = true,
): Promise<{ cfg: TrainConfig; params: ParamTree; step: number }> {
  const ck = await loadCheckpoint(dir);
  const cfg = ck.config as TrainConfig;
  if (!cfg || typeof cfg !== "object" || !("model" in cfg))
    throw new Error(`${dir}/config.json is not a scoregen training run (no "model" section)`);
  const params: ParamTree = new Map();
  for (const [name, p] of ck.params) {
    const ema = preferEma ? ck.extra.get(`ema:${name}`) : undefined;
    params.set(name, ema ? { shape: p.shape, data: ema.data as Float32Array } : p);
  }
  return { cfg, params, step: ck.step };
}
