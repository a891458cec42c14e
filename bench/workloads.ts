/**
 * The ScoreNet workloads of ../shared/bench/torch_reference.py, measured the same way:
 *   train_ms  one Adam step of the denoising score-matching loss at batch 32 (VE, σ = 25 as there)
 *   sample_ms one Euler–Maruyama step at batch 64 (network forward + host update)
 *   div_ms    one Hutchinson divergence estimate (a VJP with respect to x) at batch 16
 */
import * as E from "../src/engine/index.ts";
import { traceLoss } from "../src/losses/objectives.ts";
import { EngineNetwork } from "../src/models/network.ts";
import { scoreNetSpec } from "../src/models/registry.ts";
import { Rng } from "../src/rng.ts";
import { asScoreModel, linearSde, type Sde } from "../src/sde/index.ts";
import { medianMs, round } from "./timing.ts";

const SIGMA = 25;
/** The tutorial's VE SDE dx = σᵗ dw: std(t) = √((σ^{2t} − 1)/(2 ln σ)). */
const tutorialSde: Sde = linearSde({
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

async function scorenet(reps: number): Promise<Record<string, number>> {
  const spec = scoreNetSpec();
  const rng = new Rng(0);
  const ps = E.ParamScope.create();
  const { loss, inputs } = traceLoss("dsm", spec, ps, 32);
  const params = ps.init(rng);
  const trainer = await E.Trainer.create(ps, loss, inputs, params, { kind: "adam", lr: 1e-4 });
  const x0 = Float32Array.from(rng.uniforms(32 * 784));
  const trainStep = () => {
    const t = Float64Array.from({ length: 32 }, () => 1e-5 + rng.uniform() * (1 - 1e-5));
    const std = t.map((v) => tutorialSde.std(v));
    return trainer.trainStep({
      x0,
      z: rng.normals(32 * 784, new Float32Array(32 * 784)),
      c: t,
      mean: new Float64Array(32).fill(1),
      std,
      alpha: std.map((s) => -1 / s),
      beta: new Float64Array(32),
      weight: std.map((s) => s * s),
    });
  };
  const train_ms = await medianMs(trainStep, reps);

  const model = asScoreModel(new EngineNetwork(spec, params, tutorialSde), tutorialSde, "eps");
  const xs = rng.normals(64 * 784) as Float64Array,
    dt = 1 / 500;
  const emStep = async () => {
    const t = new Float64Array(64).fill(0.5),
      g = tutorialSde.diffusion(0.5);
    const s = await model.score(xs, t, 64);
    const out = new Float64Array(xs.length);
    for (let i = 0; i < xs.length; i++) out[i] = xs[i]! + g * g * s[i]! * dt + Math.sqrt(dt) * g * rng.normal();
    return out;
  };
  const sample_ms = await medianMs(emStep, reps);

  const xd = rng.normals(16 * 784) as Float64Array,
    probe = rng.rademachers(16 * 784) as Float64Array;
  const divStep = async () => {
    const { vjp } = await model.scoreVjp(xd, new Float64Array(16).fill(0.5), 16, probe);
    const div = new Float64Array(16);
    for (let i = 0; i < vjp.length; i++) div[Math.floor(i / 784)]! += vjp[i]! * probe[i]!;
    return div;
  };
  const div_ms = await medianMs(divStep, reps);
  const nParams = ps
    .specs()
    .filter((s) => s.trainable)
    .reduce((a, s) => a + s.shape.reduce((p, d) => p * d, 1), 0);
  return { params: nParams, train_ms: round(train_ms), sample_ms: round(sample_ms), div_ms: round(div_ms) };
}

export const extraWorkloads: Record<string, (reps: number) => Promise<Record<string, number>>> = { scorenet };
