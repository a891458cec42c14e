/**
 * The MNIST classifier used to judge samples: trained with the engine on the train split, saved
 * as a checkpoint folder, and applied in batches to give class probabilities and features.
 */
import * as E from "../engine/index.ts";
import type { ImageSet } from "../data/images.ts";
import { type ParamTree, loadCheckpoint, saveCheckpoint } from "../io/params.ts";
import { CLASSIFIER_FEATURES, crossEntropy, traceClassifier } from "../models/classifier.ts";
import { Rng } from "../rng.ts";

export interface ClassifierReport {
  steps: number;
  heldOutAccuracy: number;
  seconds: number;
}

const BATCH = 64;

/** Trains on `train` (labels required), reports accuracy on `heldOut`, and saves to `outDir`. */
export async function trainClassifier(
  train: ImageSet,
  heldOut: ImageSet,
  o: { steps: number; seed: number; outDir: string; onStep?: (step: number, loss: number) => void },
): Promise<ClassifierReport> {
  if (!train.labels || !heldOut.labels) throw new Error("training a classifier needs labeled images");
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
  for (let step = 0; step < o.steps; step++) {
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
  const report = { steps: o.steps, heldOutAccuracy: correct / heldOut.n, seconds: (performance.now() - t0) / 1000 };
  await saveCheckpoint(o.outDir, {
    params,
    config: { kind: "mnist-classifier", range: "[-1,1]", ...report },
    step: o.steps,
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
    if (cfg?.kind !== "mnist-classifier")
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
