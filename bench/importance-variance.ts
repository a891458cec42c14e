/**
 * How much importance sampling of t cuts the variance of the likelihood-weighted DSM loss on real
 * data: with a trained run's network fixed, the per-example loss λ(t)·‖score(x_t, t) + z/s(t)‖²
 * (summed over pixels) under uniform t and under t ∝ g²/s² (reweighted; same expectation). Prints
 * both means with standard errors and the variance ratio.
 *   SCOREGEN_THREADS=1 npx tsx bench/importance-variance.ts --score runs/mnist [--n 512] [--t-min 1e-5]
 */
import { parseArgs } from "node:util";
import "../src/node.ts";
import { drawBatch } from "../src/losses/objectives.ts";
import { Rng } from "../src/rng.ts";
import { openScoreSource, openTrainData } from "../src/tasks/sources.ts";

const { values } = parseArgs({
  options: {
    score: { type: "string" },
    n: { type: "string", default: "512" },
    "t-min": { type: "string", default: "1e-5" },
    batch: { type: "string", default: "64" },
  },
});
if (!values.score) throw new Error("pass --score RUN_DIR");
const src = await openScoreSource(values.score);
const spec = src.run!.model,
  sde = src.sde,
  n = Number(values.n),
  B = Number(values.batch),
  eps = Number(values["t-min"]);
const data = await openTrainData(String(src.run!.data?.source ?? "mnist"), (src.run!.data?.options ?? {}) as never);
const dim = src.model.dim;

async function perExample(importance: boolean): Promise<Float64Array> {
  const rng = new Rng(importance ? 11 : 12),
    out = new Float64Array(n);
  for (let b = 0; b < n; b += B) {
    const m = Math.min(B, n - b);
    const x0 = data.sample(m, rng).x,
      z = rng.normals(m * dim) as Float64Array;
    const cols = drawBatch("dsm-likelihood", spec, sde, m, rng, { eps, importance });
    const xt = new Float64Array(m * dim);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < dim; j++)
        xt[i * dim + j] = cols.mean![i]! * x0[i * dim + j]! + cols.std![i]! * z[i * dim + j]!;
    const score = await src.model.score(xt, cols.t!, m);
    for (let i = 0; i < m; i++) {
      let sq = 0;
      for (let j = 0; j < dim; j++) sq += (score[i * dim + j]! + z[i * dim + j]! / cols.std![i]!) ** 2;
      out[b + i] = cols.weight![i]! * sq;
    }
  }
  return out;
}

const stats = (v: Float64Array) => {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1);
  return { mean, se: Math.sqrt(variance / v.length), variance };
};
const u = stats(await perExample(false)),
  imp = stats(await perExample(true));
console.log(
  JSON.stringify({
    score: src.label,
    n,
    tMin: eps,
    uniform: u,
    importance: imp,
    varianceRatio: u.variance / imp.variance,
  }),
);
