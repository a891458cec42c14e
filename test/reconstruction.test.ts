import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  compareConditional,
  maskConstraint,
  reconstructionGuided,
  sampleConstrained,
} from "../src/controllable/index.ts";
import { conditionMixture, mixtureOracle } from "../src/oracle/index.ts";
import { Rng } from "../src/rng.ts";
import { subVpSde, veSde, vpSde } from "../src/sde/index.ts";
import { THREE_COMPONENTS, knownCoordinate } from "./helpers/mixtures.ts";

/** The guidance weight of the sampling test (the best of 0.3, 1, 3, 10, 30 in bench/inpaint-oracle.ts). */
const WEIGHT = 3;

const SDES = [
  ["VE", veSde()],
  ["VP", vpSde()],
  ["sub-VP", subVpSde()],
] as const;

describe("reconstruction guidance (Ho et al. 2022)", () => {
  it('"gaussian" weighting at weight 1 gives the exact conditional score of isotropic Gaussian data', async () => {
    // data N(μ, σ² I) in 3-D, x₀ entries 0 and 2 known: p_t(x | x₀,A = y_A) factorizes into
    // x_A ~ N(a·y_A, s²) and x_B ~ N(a·μ_B, a²σ² + s²)
    const mu = [0.5, -1, 2],
      sigma = 0.7,
      n = 5;
    const known = new Uint8Array(n * 3),
      y = new Float64Array(n * 3);
    const rng = new Rng(4);
    for (let i = 0; i < n; i++) {
      known[i * 3] = known[i * 3 + 2] = 1;
      y[i * 3] = rng.normal();
      y[i * 3 + 1] = Number.NaN;
      y[i * 3 + 2] = rng.normal();
    }
    for (const [name, sde] of SDES) {
      const o = mixtureOracle({ weights: [1], means: [mu], stds: [[sigma, sigma, sigma]] }, sde);
      const g = reconstructionGuided(o, sde, y, known, { weight: 1, weighting: "gaussian", dataStd: sigma });
      const x = Float64Array.from(rng.normals(n * 3), (z) => 2 * z);
      const t = Float64Array.from({ length: n }, (_, i) => 0.02 + (0.95 * i) / (n - 1));
      const got = await g.score(x, t, n);
      for (let i = 0; i < n; i++) {
        const a = sde.meanCoef(t[i]!),
          s = sde.std(t[i]!);
        for (let j = 0; j < 3; j++) {
          const r = i * 3 + j;
          const want = known[r]
            ? -(x[r]! - a * y[r]!) / (s * s)
            : -(x[r]! - a * mu[j]!) / (a * a * sigma * sigma + s * s);
          assert.ok(
            Math.abs(got[r]! - want) <= 1e-9 * Math.max(1, Math.abs(want)),
            `${name} t=${t[i]} entry ${j}: ${got[r]} vs exact ${want}`,
          );
        }
      }
    }
  });

  it('the guidance term is −(w·λ/2)·∇‖M(y − x̂₀(x))‖² (float64 central differences, "snr" weighting)', async () => {
    const n = 4,
      w = 3,
      h = 1e-5;
    for (const [name, sde] of SDES) {
      const o = mixtureOracle(THREE_COMPONENTS, sde);
      const { y, known } = knownCoordinate(n, 1, 0.4);
      const g = reconstructionGuided(o, sde, y, known, { weight: w });
      const rng = new Rng(9);
      const x = Float64Array.from(rng.normals(n * 2));
      const t = Float64Array.from([0.05, 0.2, 0.5, 0.8]);
      const term = await g.score(x, t, n);
      const plain = await o.score(x, t, n);
      /** ‖M(y − x̂₀)‖² of row i at state xi. */
      const loss = async (xi: Float64Array, i: number) => {
        const a = sde.meanCoef(t[i]!),
          s = sde.std(t[i]!);
        const sc = await o.score(xi, Float64Array.of(t[i]!), 1);
        const x0 = (xi[1]! + s * s * sc[1]!) / a;
        return (0.4 - x0) ** 2;
      };
      for (let i = 0; i < n; i++) {
        const a = sde.meanCoef(t[i]!),
          s = sde.std(t[i]!),
          lambda = (a * a) / (s * s);
        for (let j = 0; j < 2; j++) {
          const xp = x.slice(i * 2, i * 2 + 2),
            xm = x.slice(i * 2, i * 2 + 2);
          xp[j]! += h;
          xm[j]! -= h;
          const fd = ((await loss(xp, i)) - (await loss(xm, i))) / (2 * h);
          const want = (-(w * lambda) / 2) * fd,
            got = term[i * 2 + j]! - plain[i * 2 + j]!;
          assert.ok(
            Math.abs(got - want) <= 1e-6 * Math.max(1, Math.abs(want)),
            `${name} row ${i} entry ${j}: ${got} vs finite differences ${want}`,
          );
        }
      }
    }
  });

  it("with the replacement method it moves samples towards the exact conditional; the known part stays exact", async () => {
    const sde = vpSde(),
      o = mixtureOracle(THREE_COMPONENTS, sde),
      n = 600;
    // x₁ = 0.3: the exact conditional is component 2 (weight 0.995); plain replacement puts ~40–60 % in component 1
    const { y, known } = knownCoordinate(n, 0, 0.3);
    const cond = conditionMixture(o.mixture, [0], [0.3]);
    const gapOf = async (weight: number) => {
      const model = reconstructionGuided(o, sde, y, known, { weight });
      const r = await sampleConstrained("ancestral", model, sde, maskConstraint(y, known), {
        n,
        rng: new Rng(1),
        steps: 60,
      });
      for (let i = 0; i < n; i++) assert.equal(r.x[i * 2], 0.3, `weight ${weight}: known entry of row ${i}`);
      return compareConditional(cond.mixture, r.x, n, cond.unknown, 2);
    };
    const plain = await gapOf(0),
      guided = await gapOf(WEIGHT);
    assert.ok(plain.weights[1]! > 0.35, `plain replacement: ${JSON.stringify(plain)}`);
    assert.ok(
      guided.weights[1]! < 0.65 * plain.weights[1]! &&
        guided.weight < plain.weight &&
        guided.mean < 0.5 * plain.mean &&
        guided.stdRel < 0.5 * plain.stdRel,
      `weight ${WEIGHT}: ${JSON.stringify(guided)} vs plain ${JSON.stringify(plain)}`,
    );
  });

  it("refuses bad options and likelihoods", async () => {
    const sde = vpSde(),
      o = mixtureOracle(THREE_COMPONENTS, sde);
    const { y, known } = knownCoordinate(2, 0, 0.3);
    assert.throws(() => reconstructionGuided(o, sde, y, known, { weight: -1 }), /weight must be a number ≥ 0/);
    assert.throws(
      () => reconstructionGuided(o, sde, y, known, { weight: 1, weighting: "bogus" as "snr" }),
      /unknown weighting "bogus"/,
    );
    assert.throws(() => reconstructionGuided(o, sde, y, known.subarray(0, 2), { weight: 1 }), /mask has 2/);
    const g = reconstructionGuided(o, sde, y, known, { weight: 1 });
    await assert.rejects(g.score(new Float64Array(6), new Float64Array(3).fill(0.5), 3), /batch has 6 entries/);
    await assert.rejects(g.scoreVjp(new Float64Array(4), new Float64Array(2), 2, new Float64Array(4)), /sampling only/);
  });
});
