/**
 * The MNIST classifier used to judge samples: trained with the engine on the train split, saved
 * as a checkpoint folder, and applied in batches to give class probabilities and features. Also the
 * noise-conditional classifier p_t(y | x(t)) that classifier guidance uses (2-D points or images).
 */
import * as E from "../engine/index.ts";
import type { ImageSet } from "../data/images.ts";
import { loadCheckpoint } from "../io/checkpoint.ts";
import { openRunFolder } from "../io/run-folder.ts";
import type { RunStore } from "./run-store.ts";
import type { ParamTree } from "../engine/init.ts";
import {
  CLASSIFIER_FEATURES,
  type NoisyClassifierArch,
  crossEntropy,
  traceClassifier,
  traceNoisyClassifier,
} from "../models/classifier.ts";
import { EngineNoisyClassifier } from "../models/noisy-classifier.ts";
import { Rng } from "../rng.ts";
import { type Sde, sdeByName } from "../sde/index.ts";
import type { TrainData } from "./train.ts";

export interface ClassifierReport {
  steps: number;
  heldOutAccuracy: number;
  seconds: number;
}

const BATCH = 64;
/** The kind stored in a classifier's folder. */
export const CLASSIFIER_KIND = "mnist-classifier";

/** Trains on `train` (labels required), reports accuracy on `heldOut`, and saves to `outDir`. */
export async function trainClassifier(
  train: ImageSet,
  heldOut: ImageSet,
  o: {
    steps: number;
    seed: number;
    outDir: string;
    onStep?: (step: number, loss: number) => void;
    signal?: AbortSignal;
  },
): Promise<ClassifierReport> {
  if (!train.labels || !heldOut.labels) throw new Error("training a classifier needs labeled images");
  // Lock the folder first: refuse a folder that holds a training run (or another classifier) before any work.
  const folder = await openRunFolder(o.outDir, { kind: CLASSIFIER_KIND, command: "scoregen classifier" });
  try {
    if (folder.existing)
      throw new Error(
        `${o.outDir} already holds an MNIST classifier (step ${folder.existing.step}); delete it or choose another --out`,
      );
    return await fit(
      train as ImageSet & { labels: Int32Array },
      heldOut as ImageSet & { labels: Int32Array },
      o,
      folder,
    );
  } finally {
    await folder.close();
  }
}

async function fit(
  train: ImageSet & { labels: Int32Array },
  heldOut: ImageSet & { labels: Int32Array },
  o: { steps: number; seed: number; onStep?: (step: number, loss: number) => void; signal?: AbortSignal },
  folder: RunStore,
): Promise<ClassifierReport> {
  const t0 = performance.now();
  const ps = E.ParamScope.create();
  const x = E.input("x", [BATCH, 1, 28, 28]),
    onehot = E.input("onehot", [BATCH, 10]);
  const loss = crossEntropy(traceClassifier(ps, x).logits, onehot);
  const trainer = await E.Trainer.create(ps, loss, [x, onehot], ps.init(new Rng(o.seed)), {
    kind: "adam",
    lr: 1e-3,
    clipNorm: 5,
  });
  const dim = 784;
  let steps = 0;
  for (let step = 0; step < o.steps && !o.signal?.aborted; step++, steps++) {
    const rng = new Rng(o.seed).fork(step + 1);
    const xs = new Float32Array(BATCH * dim),
      oh = new Float32Array(BATCH * 10);
    for (let i = 0; i < BATCH; i++) {
      const r = rng.int(train.n);
      xs.set(train.data.subarray(r * dim, (r + 1) * dim), i * dim);
      oh[i * 10 + train.labels[r]!] = 1;
    }
    const r = await trainer.trainStep({ x: xs, onehot: oh });
    o.onStep?.(step + 1, r.loss);
  }
  const params = trainer.params();
  const clf = new Classifier(params);
  const { probs } = await clf.classify(heldOut.data, heldOut.n);
  let correct = 0;
  for (let i = 0; i < heldOut.n; i++) if (argmax(probs, i) === heldOut.labels[i]) correct++;
  const report = { steps, heldOutAccuracy: correct / heldOut.n, seconds: (performance.now() - t0) / 1000 };
  await folder.save({
    params,
    config: { kind: CLASSIFIER_KIND, range: "[-1,1]", ...report },
    step: steps,
    extra: new Map(),
  });
  return report;
}

export function argmax(probs: ArrayLike<number>, row: number, k = 10): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (probs[row * k + j]! > probs[row * k + best]!) best = j;
  return best;
}

/** A trained classifier: probabilities [n·10] and features [n·128] of images in [-1, 1]. */
export class Classifier {
  private readonly feeds: Record<string, Float32Array> = {};
  private prog?: Promise<E.Program>;
  constructor(params: ParamTree) {
    for (const [k, p] of params) this.feeds[E.paramFeed(k)] = Float32Array.from(p.data);
  }

  static async load(dir: string): Promise<{ classifier: Classifier; accuracy: number }> {
    const ck = await loadCheckpoint(dir);
    const cfg = ck.config as { kind?: string; heldOutAccuracy?: number };
    if (cfg?.kind !== CLASSIFIER_KIND)
      throw new Error(`${dir} is not a scoregen MNIST classifier (train one with: scoregen classifier --out ${dir})`);
    return { classifier: new Classifier(ck.params), accuracy: cfg.heldOutAccuracy ?? NaN };
  }

  private program(): Promise<E.Program> {
    this.prog ??= (async () => {
      const ps = E.ParamScope.create();
      const x = E.input("x", [BATCH, 1, 28, 28]);
      const { logits, features } = traceClassifier(ps, x);
      return E.compile({
        inputs: [...ps.specs().map((s) => s.node), x],
        outputs: { probs: E.softmax(logits, 1), features },
      });
    })();
    return this.prog;
  }

  /** x [n·784] in [-1, 1] → probabilities [n·10] and features [n·128] (in batches of 64, the last padded). */
  async classify(x: ArrayLike<number>, n: number): Promise<{ probs: Float64Array; features: Float64Array }> {
    const prog = await this.program();
    const probs = new Float64Array(n * 10),
      features = new Float64Array(n * CLASSIFIER_FEATURES);
    for (let s = 0; s < n; s += BATCH) {
      const m = Math.min(BATCH, n - s);
      const xb = new Float32Array(BATCH * 784);
      for (let i = 0; i < m * 784; i++) xb[i] = x[s * 784 + i]!;
      const r = await prog.run({ ...this.feeds, x: xb });
      probs.set((r.probs as Float32Array).subarray(0, m * 10), s * 10);
      features.set((r.features as Float32Array).subarray(0, m * CLASSIFIER_FEATURES), s * CLASSIFIER_FEATURES);
    }
    return { probs, features };
  }
}

/** Labeled held-out examples for accuracy reports: x [n·dim], labels [n]. */
export interface LabeledSet {
  x: ArrayLike<number>;
  labels: Int32Array;
  n: number;
}

/** The kind stored in a noise-conditional classifier's folder. */
export const NOISY_CLASSIFIER_KIND = "noisy-classifier";

export interface NoisyClassifierConfig {
  kind: typeof NOISY_CLASSIFIER_KIND;
  /** The forward SDE the classifier was trained under (guidance needs the same one). */ sde: string;
  arch: NoisyClassifierArch;
  /** Description of the training data (source, pixel range), for the record. */ data: Record<string, unknown>;
  /** Held-out accuracy at a few times, as [t, accuracy] pairs. */ accuracy: [number, number][];
  steps: number;
}

/**
 * Trains a noise-conditional classifier p_t(y | x(t)) (Song et al. 2021, App. I.4): each step draws a
 * labeled batch, t ~ U(eps, T) per example and x(t) = a(t)·x + s(t)·z, and minimizes the cross-entropy.
 * Reports held-out accuracy at t ∈ {eps, T/4, T/2, 3T/4} and saves a checkpoint folder.
 */
export async function trainNoisyClassifier(
  data: TrainData,
  heldOut: LabeledSet,
  o: {
    sde: Sde;
    arch: NoisyClassifierArch;
    steps: number;
    batch: number;
    lr: number;
    seed: number;
    outDir: string;
    data: Record<string, unknown>;
    onStep?: (step: number, loss: number) => void;
    /** Stops training early (e.g. Ctrl-C); the classifier trained so far is evaluated and saved. */ signal?: AbortSignal;
  },
): Promise<NoisyClassifierConfig & { seconds: number }> {
  const folder = await openRunFolder(o.outDir, {
    kind: NOISY_CLASSIFIER_KIND,
    command: "scoregen classifier --noise-conditional",
  });
  try {
    if (folder.existing)
      throw new Error(
        `${o.outDir} already holds a noise-conditional classifier (step ${folder.existing.step}); delete it or choose another --out`,
      );
    return await fitNoisy(data, heldOut, o, folder);
  } finally {
    await folder.close();
  }
}

async function fitNoisy(
  data: TrainData,
  heldOut: LabeledSet,
  o: Parameters<typeof trainNoisyClassifier>[2],
  folder: RunStore,
): Promise<NoisyClassifierConfig & { seconds: number }> {
  const t0 = performance.now(),
    { sde, arch, batch: B } = o;
  const dim = arch.dataShape.reduce((a, b) => a * b, 1),
    K = arch.classes;
  if (data.dim !== dim)
    throw new Error(`classifier training data has dimension ${data.dim} but the classifier expects ${dim}`);
  const ps = E.ParamScope.create();
  const x = E.input("x", [B, ...arch.dataShape]),
    c = E.input("c", [B]),
    cin = E.input("cin", [B]),
    onehot = E.input("onehot", [B, K]);
  const loss = crossEntropy(traceNoisyClassifier(arch, ps, x, c, cin), onehot);
  const trainer = await E.Trainer.create(ps, loss, [x, c, cin, onehot], ps.init(new Rng(o.seed).fork(0xc1f)), {
    kind: "adam",
    lr: o.lr,
    clipNorm: 5,
  });
  let steps = 0;
  for (let step = 0; step < o.steps && !o.signal?.aborted; step++, steps++) {
    const rng = new Rng(o.seed).fork(step + 1);
    const b = data.sample(B, rng);
    if (!b.y) throw new Error("training a noise-conditional classifier needs labeled data");
    const feeds = {
      x: new Float32Array(B * dim),
      c: new Float32Array(B),
      cin: new Float32Array(B),
      onehot: new Float32Array(B * K),
    };
    for (let i = 0; i < B; i++) {
      const t = sde.eps + rng.uniform() * (sde.T - sde.eps),
        a = sde.meanCoef(t),
        s = sde.std(t);
      feeds.c[i] = t;
      feeds.cin[i] = 1 / Math.sqrt(a * a + s * s);
      const k = b.y[i]!;
      if (!(k >= 0 && k < K)) throw new Error(`label ${k} is outside 0…${K - 1}`);
      feeds.onehot[i * K + k] = 1;
      for (let j = i * dim; j < (i + 1) * dim; j++) feeds.x[j] = a * b.x[j]! + s * rng.normal();
    }
    const r = await trainer.trainStep(feeds);
    if (!Number.isFinite(r.loss))
      throw new Error(`classifier training diverged at step ${step + 1}; lower the learning rate`);
    o.onStep?.(step + 1, r.loss);
  }
  const params = trainer.params();
  const clf = new EngineNoisyClassifier(arch, params, sde);
  const accuracy: [number, number][] = [];
  for (const t of [sde.eps, sde.T / 4, sde.T / 2, (3 * sde.T) / 4])
    accuracy.push([t, await noisyAccuracy(clf, heldOut, t, new Rng(o.seed + 1))]);
  const cfg: NoisyClassifierConfig = {
    kind: NOISY_CLASSIFIER_KIND,
    sde: sde.name,
    arch,
    data: o.data,
    accuracy,
    steps,
  };
  await folder.save({ params, config: cfg, step: steps, extra: new Map() });
  return { ...cfg, seconds: (performance.now() - t0) / 1000 };
}

/** Fraction of held-out examples perturbed to time t whose most probable class is the label. */
export async function noisyAccuracy(
  clf: EngineNoisyClassifier,
  set: LabeledSet,
  t: number,
  rng: Rng,
  batch = 250,
): Promise<number> {
  const dim = clf.dim,
    a = clf.sde.meanCoef(t),
    s = clf.sde.std(t);
  let correct = 0;
  for (let start = 0; start < set.n; start += batch) {
    const m = Math.min(batch, set.n - start),
      xb = new Float64Array(batch * dim);
    for (let j = 0; j < m * dim; j++) xb[j] = a * set.x[start * dim + j]! + s * rng.normal();
    const p = await clf.probs(xb, new Float64Array(batch).fill(t), batch);
    for (let i = 0; i < m; i++) if (argmax(p, i, clf.classes) === set.labels[start + i]) correct++;
  }
  return correct / set.n;
}

/** A noise-conditional classifier folder (scoregen classifier --noise-conditional --out DIR). */
export async function loadNoisyClassifier(
  dir: string,
): Promise<{ classifier: EngineNoisyClassifier; config: NoisyClassifierConfig }> {
  const ck = await loadCheckpoint(dir).catch((e: Error) => {
    throw /not found|missing/.test(e.message)
      ? new Error(`no classifier at ${dir}: train one with scoregen classifier --noise-conditional --out ${dir}`)
      : e;
  });
  const cfg = ck.config as NoisyClassifierConfig;
  if (cfg?.kind !== NOISY_CLASSIFIER_KIND)
    throw new Error(
      `${dir} is not a noise-conditional classifier (train one with: scoregen classifier --noise-conditional --sde vp --data … --out ${dir})`,
    );
  return { classifier: new EngineNoisyClassifier(cfg.arch, ck.params, sdeByName(cfg.sde)), config: cfg };
}
