/**
 * Importance sampling of the training time (Song et al. 2021b): the draws follow p(t) ∝ g²/s² and
 * the reweighted objective has the same expectation as the uniform-t one, with less variance.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { drawBatch } from "../src/losses/objectives.ts";
import { importanceDensity, importanceTime } from "../src/losses/time-sampling.ts";
import { mlpSpec } from "../src/models/registry.ts";
import { Rng } from "../src/rng.ts";
import { asScoreModel, sdeByName, type Sde } from "../src/sde/index.ts";
import "../src/node.ts";
import { EngineNetwork } from "../src/models/network.ts";
import { mixtureOracle } from "../src/oracle/index.ts";
import { train, unlabeled } from "../src/tasks/train.ts";
import { TRAINING_MIXTURE } from "./helpers/mixtures.ts";

/** ∫_eps^b f(t) dt by the midpoint rule in log t (f may behave like 1/t near 0). */
function integrate(f: (t: number) => number, eps: number, b: number, m = 20000): number {
  const lo = Math.log(eps),
    hi = Math.log(b),
    h = (hi - lo) / m;
  let sum = 0;
  for (let k = 0; k < m; k++) {
    const t = Math.exp(lo + (k + 0.5) * h);
    sum += f(t) * t * h;
  }
  return sum;
}

/** The unnormalized target g(t)²/s(t)², from the SDE's own coefficients (not via σ(t)). */
const target = (sde: Sde) => (t: number) => sde.diffusion(t) ** 2 / sde.std(t) ** 2;

describe("importance sampling of t ∝ g²/s²", () => {
  for (const name of ["ve", "vp", "subvp"]) {
    it(`draws follow the density (Kolmogorov–Smirnov against the integrated g²/s²), ${name}`, () => {
      const sde = sdeByName(name),
        eps = 1e-5,
        n = 20000,
        rng = new Rng(1);
      const Z = integrate(target(sde), eps, sde.T);
      assert.ok(
        Math.abs(integrate((t) => importanceDensity(sde, eps, t), eps, sde.T) - 1) < 1e-6,
        "density integrates to 1",
      );
      const ts = Float64Array.from({ length: n }, () => importanceTime(sde, eps, rng.uniform())).sort();
      assert.ok(ts[0]! >= eps && ts[n - 1]! <= sde.T);
      let ks = 0;
      for (const q of [0.001, 0.01, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.9]) {
        const cdf = integrate(target(sde), eps, q) / Z;
        let below = 0;
        while (below < n && ts[below]! <= q) below++;
        ks = Math.max(ks, Math.abs(below / n - cdf));
      }
      assert.ok(
        ks < 1.63 / Math.sqrt(n),
        `KS distance ${ks.toFixed(4)} (1 % critical value ${(1.63 / Math.sqrt(n)).toFixed(4)})`,
      );
      // VE: g²/s² = 2·log(σ_max/σ_min) is constant, so p is uniform; VP/sub-VP: g²/s² ~ 1/t near 0
      if (name === "ve") assert.ok(Math.abs(importanceTime(sde, eps, 0.3) - (eps + 0.3 * (sde.T - eps))) < 1e-12);
      else assert.ok(ts[n / 2]! < 0.4, `median ${ts[n / 2]} (uniform t: 0.5)`);
    });
  }

  it("the reweighted dsm-likelihood objective is unbiased (against quadrature and plain Monte Carlo) and has lower variance on VP/sub-VP", () => {
    const spec = mlpSpec(2);
    for (const name of ["vp", "subvp", "ve"]) {
      const sde = sdeByName(name),
        eps = 1e-5,
        n = 200000;
      // a per-example loss ℓ(t) shaped like DSM's (‖score + z/s‖² ~ 1/s² for a poor model) plus a constant
      const loss = (t: number) => 1 + 0.05 / sde.std(t) ** 2;
      const exact = integrate((t) => sde.diffusion(t) ** 2 * loss(t), eps, sde.T) / (sde.T - eps);
      const stats = (importance: boolean) => {
        const cols = drawBatch("dsm-likelihood", spec, sde, n, new Rng(importance ? 2 : 3), { eps, importance });
        let s = 0,
          s2 = 0;
        for (let i = 0; i < n; i++) {
          const v = cols.weight![i]! * loss(cols.t![i]!);
          s += v;
          s2 += v * v;
        }
        const mean = s / n,
          variance = s2 / n - mean * mean;
        return { mean, se: Math.sqrt(variance / n), variance };
      };
      const imp = stats(true),
        plain = stats(false);
      assert.ok(
        Math.abs(imp.mean - exact) < 4 * imp.se + 1e-9 * exact,
        `${name}: importance mean ${imp.mean} vs exact ${exact} (SE ${imp.se})`,
      );
      assert.ok(
        Math.abs(plain.mean - exact) < 4 * plain.se,
        `${name}: plain mean ${plain.mean} vs exact ${exact} (SE ${plain.se})`,
      );
      assert.ok(
        Math.abs(imp.mean - plain.mean) < 4 * Math.hypot(imp.se, plain.se),
        `${name}: importance vs plain Monte Carlo`,
      );
      if (name !== "ve")
        assert.ok(
          imp.variance < plain.variance / 3,
          `${name}: variance ${imp.variance} (importance) vs ${plain.variance} (uniform)`,
        );
    }
  });

  it("rejects importance sampling for the discrete-level losses and a bad t_min", () => {
    const spec = mlpSpec(2),
      sde = sdeByName("vp");
    assert.throws(
      () => drawBatch("ddpm", spec, sde, 4, new Rng(1), { importance: true }),
      /importance sampling of t applies to the continuous-time losses/,
    );
    assert.throws(
      () => drawBatch("dsm", spec, sde, 4, new Rng(1), { eps: 0 }),
      /smallest training time \(t_min \/ eps\) must lie in \(0, T=1\)/,
    );
  });
});

describe("training with --loss dsm-likelihood --importance", () => {
  it("learns the exact score of a Gaussian mixture (σ²-weighted relative error < 0.2 on VP)", async () => {
    const sde = sdeByName("vp"),
      oracle = mixtureOracle(TRAINING_MIXTURE, sde),
      spec = mlpSpec(2);
    const res = await train(
      {
        model: spec,
        sde: "vp",
        objective: "dsm-likelihood",
        objectiveOptions: { importance: true },
        optimizer: { kind: "adam", lr: 2e-3, emaDecay: 0.99, clipNorm: 1 },
        batch: 256,
        seed: 0,
      },
      unlabeled(2, (n, rng) => oracle.sampleData(rng, n)),
      { steps: 800 },
    );
    const net = asScoreModel(new EngineNetwork(spec, res.emaParams, sde), sde, spec.parameterization);
    const rng = new Rng(9);
    let err = 0,
      ref = 0;
    for (const t of [0.05, 0.2, 0.5, 1]) {
      const n = 400,
        tv = new Float64Array(n).fill(t);
      const x = oracle.sampleData(rng, n).map((v) => v * sde.meanCoef(t) + sde.std(t) * rng.normal());
      const s = await net.score(x, tv, n),
        so = await oracle.score(x, tv, n);
      for (let i = 0; i < s.length; i++) {
        err += sde.std(t) ** 2 * (s[i]! - so[i]!) ** 2;
        ref += sde.std(t) ** 2 * so[i]! ** 2;
      }
    }
    const rel = Math.sqrt(err / ref);
    assert.ok(rel < 0.2, `weighted relative score error ${rel.toFixed(3)}`);
  });
});
