/**
 * Benchmark workloads. Each builds its compiled programs once (`setup`) and returns the function
 * that one timed repetition runs; bench.ts takes medians, profile.ts records ORT profiles and
 * ab.ts compares variants interleaved. Their PyTorch twins do the same work:
 *   ../shared/bench/torch_reference.py   convnet, scorenet (train / sample / div)
 *   bench/torch_twins.py                 mlp_train, pc2d, mnist_em, mnist_bpd
 *
 * Step workloads (ms per call):
 *   convnet.train      the engine's reference conv net (DESIGN.md), one SGD step, batch 32
 *   scorenet.train     one Adam step of the DSM loss at batch 32 (VE, σ = 25, the tutorial's SDE)
 *   scorenet.sample    one Euler–Maruyama step at batch 64 (network forward + host update)
 *   scorenet.div       one Hutchinson divergence estimate (a VJP with respect to x) at batch 16
 *   mlp_train.train    one Adam step of the DSM loss for the default 2-D MLP at batch 512 (VP SDE)
 * End-to-end workloads (ms per run, fewer repetitions):
 *   pc2d.run           1,000-step PC sampling (reverse diffusion + Langevin, snr 0.16) of 1,000 2-D points
 *   mnist_em.run       64 MNIST-shaped samples, Euler–Maruyama, 500 steps, ScoreNet
 *   mnist_bpd.run      bits/dim of 32 MNIST test digits: probability-flow ODE, RK45 (rtol = atol = 1e-5),
 *                      Hutchinson (Rademacher) divergence, uniform dequantization
 * The end-to-end ScoreNet workloads use seeded initial weights, written with the digits to a
 * safetensors file (`exportShared`) so the PyTorch twin evaluates the same network on the same
 * data (RK45's function-evaluation count depends on both; both sides report theirs).
 */
import * as E from "../src/engine/index.ts";
import { type ImageSet, dequantizationBpdOffset, loadMnist } from "../src/data/images.ts";
import { writeSafetensorsFile } from "../src/io/files.ts";
import type { ParamTree } from "../src/engine/init.ts";
import { traceLoss } from "../src/losses/objectives.ts";
import { EngineNetwork } from "../src/models/network.ts";
import { mlpSpec, scoreNetSpec } from "../src/models/registry.ts";
import { Rng } from "../src/rng.ts";
import { getSampler } from "../src/sampling/registry.ts";
import { asScoreModel, linearSde, vpSde, type Sde } from "../src/sde/index.ts";
import type { ScoreModel } from "../src/score.ts";
import { imageBitsPerDim } from "../src/tasks/image-likelihood.ts";

/** One timed repetition (its result is ignored). */
export type Step = () => Promise<unknown>;
/** Wraps the score model a workload evaluates (bench --lockstep hands PyTorch the turn through it). */
export type ModelWrap = (m: ScoreModel) => ScoreModel;

export interface Workload {
  /** Metric name → what one repetition of it runs (end-to-end ScoreNet runs evaluate `wrap(model)`). */
  setup(wrap?: ModelWrap): Promise<Record<string, Step>>;
  /** Repetitions to take the median of (end-to-end runs take fewer). */
  reps?: number;
  /** Untimed warm-up repetitions (default 3 for steps, 1 for end-to-end runs). */
  warm?: number;
  /** Extra facts printed with the timings (e.g. parameter count, nfe). */
  facts?: () => Record<string, number>;
}

const SIGMA = 25;
/** The tutorial's VE SDE dx = σᵗ dw: std(t) = √((σ^{2t} − 1)/(2 ln σ)). */
export const tutorialSde: Sde = linearSde({
  name: "ve-tutorial",
  T: 1,
  N: 500,
  eps: 1e-3,
  priorStd: Math.sqrt((SIGMA ** 2 - 1) / (2 * Math.log(SIGMA))),
  driftCoef: () => 0,
  diffusion: (t) => SIGMA ** t,
  meanCoef: () => 1,
  std: (t) => Math.sqrt((SIGMA ** (2 * t) - 1) / (2 * Math.log(SIGMA))),
});

/** The engine's reference net (DESIGN.md): one SGD step of mean(y²), batch 32, no biases. */
const convnet: Workload = {
  async setup() {
    const scope = E.ParamScope.create();
    const rng = new Rng(0);
    const w = (name: string, shape: number[]) =>
      scope.param(name, shape, (s) => ({
        shape: s,
        data: Float32Array.from(rng.normals(s.reduce((a, b) => a * b)), (v) => v * 0.05),
      }));
    const x = E.input("x", [32, 1, 28, 28]);
    let h = E.relu(E.conv2d(x, w("c1", [32, 1, 3, 3]), { padding: 1 }));
    h = E.relu(E.conv2d(h, w("c2", [64, 32, 3, 3]), { stride: 2, padding: 1 }));
    h = E.relu(E.conv2d(h, w("c3", [128, 64, 3, 3]), { stride: 2, padding: 1 }));
    h = E.relu(E.convTranspose2d(h, w("t3", [128, 64, 3, 3]), { stride: 2, padding: 1, outputPadding: 1 }));
    h = E.convTranspose2d(h, w("t2", [64, 32, 3, 3]), { stride: 2, padding: 1, outputPadding: 1 });
    const y = E.conv2d(h, w("c0", [1, 32, 3, 3]), { padding: 1 });
    const trainer = await E.Trainer.create(scope, E.mean(E.square(y)), [x], scope.init(rng), { kind: "sgd", lr: 1e-2 });
    const xs = rng.normals(32 * 784, new Float32Array(32 * 784));
    return { train: () => trainer.trainStep({ x: xs }) };
  },
};

/** Seeded ScoreNet parameters (the same for every workload and the PyTorch twins). */
export function scoreNetParams(): { spec: ReturnType<typeof scoreNetSpec>; params: ParamTree; nParams: number } {
  const spec = scoreNetSpec();
  const ps = E.ParamScope.create();
  traceLoss("dsm", spec, ps, 1);
  const nParams = ps
    .specs()
    .filter((s) => s.trainable)
    .reduce((a, s) => a + s.shape.reduce((p, d) => p * d, 1), 0);
  return { spec, params: ps.init(new Rng(0)), nParams };
}

/** DSM feeds for one ScoreNet batch of n (t ~ U(1e-5, 1), as the tutorial). */
function scoreNetBatch(rng: Rng, x0: Float32Array, n: number) {
  const t = Float64Array.from({ length: n }, () => 1e-5 + rng.uniform() * (1 - 1e-5));
  const std = t.map((v) => tutorialSde.std(v));
  return {
    x0,
    z: rng.normals(n * 784, new Float32Array(n * 784)),
    c: t,
    mean: new Float64Array(n).fill(1),
    std,
    alpha: std.map((s) => -1 / s),
    beta: new Float64Array(n),
    weight: std.map((s) => s * s),
  };
}

/** The scorenet.train step: one Adam step of the DSM loss at batch 32 (`layout` for A/B comparisons). */
export async function scoreNetTrainStep(layout?: E.StateLayout): Promise<{ train: Step; params: ParamTree; rng: Rng }> {
  const spec = scoreNetSpec();
  const rng = new Rng(0);
  const ps = E.ParamScope.create();
  const { loss, inputs } = traceLoss("dsm", spec, ps, 32);
  const params = ps.init(rng);
  const trainer = await E.Trainer.create(ps, loss, inputs, params, { kind: "adam", lr: 1e-4 }, { layout });
  const x0 = Float32Array.from(rng.uniforms(32 * 784));
  return { train: () => trainer.trainStep(scoreNetBatch(rng, x0, 32)), params, rng };
}

const scorenet: Workload = {
  async setup() {
    const spec = scoreNetSpec();
    const { train, params, rng } = await scoreNetTrainStep();

    const model = asScoreModel(new EngineNetwork(spec, params, tutorialSde), tutorialSde, "eps");
    const xs = rng.normals(64 * 784) as Float64Array,
      dt = 1 / 500;
    const sample = async () => {
      const t = new Float64Array(64).fill(0.5),
        g = tutorialSde.diffusion(0.5);
      const s = await model.score(xs, t, 64);
      const out = rng.normals(xs.length) as Float64Array;
      for (let i = 0; i < xs.length; i++) out[i] = xs[i]! + g * g * s[i]! * dt + Math.sqrt(dt) * g * out[i]!;
      return out;
    };

    const xd = rng.normals(16 * 784) as Float64Array,
      probe = rng.rademachers(16 * 784) as Float64Array;
    const div = async () => {
      const { vjp } = await model.scoreVjp(xd, new Float64Array(16).fill(0.5), 16, probe);
      const d = new Float64Array(16);
      for (let i = 0; i < vjp.length; i++) d[Math.floor(i / 784)]! += vjp[i]! * probe[i]!;
      return d;
    };
    return { train, sample, div };
  },
  facts: () => ({ params: scoreNetParams().nParams }),
};

/** The 2-D MLP (default config) trained by DSM on a VP SDE, batch 512. */
const mlp_train: Workload = {
  async setup() {
    const spec = mlpSpec(2),
      sde = vpSde(),
      n = 512,
      rng = new Rng(0);
    const ps = E.ParamScope.create();
    const { loss, inputs } = traceLoss("dsm", spec, ps, n);
    const trainer = await E.Trainer.create(ps, loss, inputs, ps.init(rng), { kind: "adam", lr: 1e-3 });
    const x0 = rng.normals(2 * n, new Float32Array(2 * n));
    const train = () => {
      const t = Float64Array.from({ length: n }, () => 1e-5 + rng.uniform() * (1 - 1e-5));
      const std = t.map((v) => sde.std(v)),
        mean = t.map((v) => sde.meanCoef(v));
      return trainer.trainStep({
        x0,
        z: rng.normals(2 * n, new Float32Array(2 * n)),
        c: t,
        mean,
        std,
        alpha: std.map((s) => -1 / s),
        beta: new Float64Array(n),
        weight: std.map((s) => s * s),
      });
    };
    return { train };
  },
};

/** 1,000-step PC sampling of 1,000 2-D points with the default MLP (seeded weights). */
const pc2d: Workload = {
  reps: 3,
  async setup() {
    const spec = mlpSpec(2),
      sde = vpSde();
    const ps = E.ParamScope.create();
    traceLoss("dsm", spec, ps, 1);
    const model = asScoreModel(new EngineNetwork(spec, ps.init(new Rng(0)), sde), sde, "eps");
    const pc = getSampler("pc");
    let seed = 0;
    return { run: () => pc.run(model, sde, { n: 1000, steps: 1000, rng: new Rng(seed++), snr: 0.16 }) };
  },
};

/** 64 samples of the ScoreNet by Euler–Maruyama, 500 steps (the tutorial's sampler). */
const mnist_em: Workload = {
  reps: 3,
  async setup(wrap: ModelWrap = (m) => m) {
    const { spec, params } = scoreNetParams();
    const model = wrap(asScoreModel(new EngineNetwork(spec, params, tutorialSde), tutorialSde, "eps"));
    const em = getSampler("em");
    let seed = 0;
    return { run: () => em.run(model, tutorialSde, { n: 64, steps: 500, rng: new Rng(seed++) }) };
  },
};

export const BPD_DIGITS = 32;
let lastBpdNfe = 0;
/** Bits/dim of the first 32 held-out digits (pixels in [0, 1], one repeat). */
const mnist_bpd: Workload = {
  reps: 1,
  warm: 0, // one whole run, compile included, as its twin
  async setup(wrap: ModelWrap = (m) => m) {
    const { spec, params } = scoreNetParams();
    const images = await loadMnist({ split: "test", limit: BPD_DIGITS, range: "[0,1]" });
    return {
      run: async () => {
        const model = wrap(asScoreModel(new EngineNetwork(spec, params, tutorialSde), tutorialSde, "eps"));
        const r = await imageBitsPerDim(model, tutorialSde, images, {
          n: BPD_DIGITS,
          repeats: 1,
          seed: 0,
          range: "[0,1]",
        });
        lastBpdNfe = r.nfe;
        return r;
      },
    };
  },
  facts: () => ({ nfe: lastBpdNfe }),
};

export const WORKLOADS: Record<string, Workload> = { convnet, scorenet, mlp_train, pc2d, mnist_em, mnist_bpd };

/**
 * Writes what the PyTorch twins need to match the TS workloads: the seeded ScoreNet parameters
 * (PyTorch's state-dict names) and the 32 digits as float32 [32, 1, 28, 28] in [0, 1].
 */
export async function exportShared(path: string): Promise<void> {
  const { params } = scoreNetParams();
  const images: ImageSet = await loadMnist({ split: "test", limit: BPD_DIGITS, range: "[0,1]" });
  const tensors: Record<string, { dtype: "F32"; shape: number[]; data: Float32Array }> = {};
  for (const [name, p] of params) tensors[name] = { dtype: "F32", shape: p.shape, data: Float32Array.from(p.data) };
  tensors.digits = { dtype: "F32", shape: [BPD_DIGITS, 1, 28, 28], data: Float32Array.from(images.data) };
  await writeSafetensorsFile(path, tensors, { bpd_offset: String(dequantizationBpdOffset("[0,1]")) });
}
