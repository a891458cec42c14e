import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rng } from "../src/rng.ts";
import { subVpSde, veSde, vpSde, type Sde } from "../src/sde/index.ts";
import {
  componentStd,
  fitByComponent,
  fitError,
  mixtureOracle,
  parseMixtureSpec,
  type MixtureOracle,
} from "../src/oracle/index.ts";

const DIAG = {
  weights: [0.5, 0.3, 0.2],
  means: [
    [-2, -1],
    [2, -1],
    [0, 2],
  ],
  stds: [
    [0.4, 0.4],
    [0.5, 0.3],
    [0.3, 0.5],
  ],
};
const FULL3 = {
  weights: [0.45, 0.55],
  means: [
    [1, 0, -1],
    [-1, 0.5, 0.5],
  ],
  covs: [
    [
      [0.5, 0.2, 0.1],
      [0.2, 0.4, -0.1],
      [0.1, -0.1, 0.3],
    ],
    [
      [0.2, -0.05, 0],
      [-0.05, 0.3, 0.08],
      [0, 0.08, 0.25],
    ],
  ],
};
const SDES: Sde[] = [veSde(), vpSde(), subVpSde()];
const TIMES = [1e-3, 0.05, 0.3, 0.8];

/** Test points: samples of the perturbed data plus a few points between or far from the modes. */
function testPoints(oracle: MixtureOracle, rng: Rng, t: number, n: number): Float64Array {
  const d = oracle.dim,
    x = oracle.sampleData(rng, n);
  const a = oracle.sde.meanCoef(t),
    s = oracle.sde.std(t);
  for (let i = 0; i < x.length; i++) x[i] = a * x[i]! + s * rng.normal();
  for (let j = 0; j < d; j++) {
    x[j] = 0.1 * (j + 1);
    x[d + j] = -3 + j;
  } // between modes, in a tail
  return x;
}

describe("Gaussian-mixture oracle: exact scores", () => {
  for (const [label, spec] of [
    ["diagonal", DIAG],
    ["full covariance", FULL3],
  ] as const) {
    it(`${label}: score equals central differences of log p_t`, async () => {
      const rng = new Rng(21);
      for (const sde of SDES) {
        const oracle = mixtureOracle(spec, sde),
          d = oracle.dim,
          n = 6;
        for (const t of TIMES) {
          const x = testPoints(oracle, rng, t, n);
          const score = await oracle.score(x, new Float64Array(n).fill(t), n);
          const h = 1e-5 * Math.max(1, sde.std(t));
          for (let j = 0; j < d; j++) {
            const xp = Float64Array.from(x),
              xm = Float64Array.from(x);
            for (let i = 0; i < n; i++) {
              xp[i * d + j]! += h;
              xm[i * d + j]! -= h;
            }
            const lp = oracle.logProb(xp, t, n),
              lm = oracle.logProb(xm, t, n);
            for (let i = 0; i < n; i++) {
              const fd = (lp[i]! - lm[i]!) / (2 * h),
                s = score[i * d + j]!;
              assert.ok(
                Math.abs(fd - s) <= 1e-5 * (1 + Math.abs(s)),
                `${sde.name} t=${t} row ${i} coord ${j}: ${s} vs FD ${fd}`,
              );
            }
          }
        }
      }
    });

    it(`${label}: vᵀ∂s/∂x equals central differences of the score`, async () => {
      const rng = new Rng(22);
      for (const sde of SDES) {
        const oracle = mixtureOracle(spec, sde),
          d = oracle.dim,
          n = 6;
        for (const t of TIMES) {
          const x = testPoints(oracle, rng, t, n),
            tv = new Float64Array(n).fill(t);
          const v = rng.normals(n * d) as Float64Array;
          const { vjp, score } = await oracle.scoreVjp(x, tv, n, v);
          const plain = await oracle.score(x, tv, n);
          assert.deepEqual(Array.from(score), Array.from(plain), "scoreVjp returns the same score");
          const h = 1e-5 * Math.max(1, sde.std(t));
          for (let j = 0; j < d; j++) {
            // (vᵀJ)_j = Σ_i v_i ∂s_i/∂x_j: differentiate along e_j, contract with v
            const xp = Float64Array.from(x),
              xm = Float64Array.from(x);
            for (let i = 0; i < n; i++) {
              xp[i * d + j]! += h;
              xm[i * d + j]! -= h;
            }
            const sp = await oracle.score(xp, tv, n),
              sm = await oracle.score(xm, tv, n);
            for (let i = 0; i < n; i++) {
              let fd = 0;
              for (let k = 0; k < d; k++) fd += (v[i * d + k]! * (sp[i * d + k]! - sm[i * d + k]!)) / (2 * h);
              const got = vjp[i * d + j]!;
              assert.ok(
                Math.abs(fd - got) <= 1e-5 * (1 + Math.abs(got)),
                `${sde.name} t=${t} row ${i} coord ${j}: ${got} vs FD ${fd}`,
              );
            }
          }
        }
      }
    });
  }

  it("rows may carry different times", async () => {
    const oracle = mixtureOracle(DIAG, vpSde());
    const x = Float64Array.of(0.5, 0.5, 0.5, 0.5, -1, 1);
    const t = Float64Array.of(0.1, 0.7, 0.1);
    const all = await oracle.score(x, t, 3);
    for (let i = 0; i < 3; i++) {
      const one = await oracle.score(x.slice(2 * i, 2 * i + 2), t.slice(i, i + 1), 1);
      assert.deepEqual(Array.from(all.slice(2 * i, 2 * i + 2)), Array.from(one));
    }
    assert.notDeepEqual(Array.from(all.slice(0, 2)), Array.from(all.slice(2, 4)), "same x at different t must differ");
  });

  it("counts one nfe per score or scoreVjp call and none for logProb", async () => {
    const oracle = mixtureOracle(DIAG, veSde());
    const x = new Float64Array(8),
      t = new Float64Array(4).fill(0.5);
    await oracle.score(x, t, 4);
    await oracle.scoreVjp(x, t, 4, x);
    oracle.logProb(x, 0.5, 4);
    assert.equal(oracle.nfe, 2);
  });

  it("is stable far from every mode (log-sum-exp)", async () => {
    const oracle = mixtureOracle(DIAG, vpSde());
    const x = Float64Array.of(400, -300);
    const lp = oracle.logProb(x, 1e-3, 1)[0]!;
    const s = await oracle.score(x, Float64Array.of(1e-3), 1);
    assert.ok(Number.isFinite(lp) && lp < -1e5, `log p = ${lp}`);
    assert.ok(Number.isFinite(s[0]!) && s[0]! < 0 && s[1]! > 0, "score points back to the data");
  });
});

describe("Gaussian-mixture oracle: densities and sampling", () => {
  it("matches a hand-computed 2×2 Gaussian density and its perturbed marginal", () => {
    const spec = {
      weights: [1],
      means: [[0.5, -1]],
      covs: [
        [
          [0.6, 0.25],
          [0.25, 0.4],
        ],
      ],
    };
    const sde = vpSde(),
      oracle = mixtureOracle(spec, sde);
    const x = Float64Array.of(0.1, -0.3);
    for (const t of [0, 0.4]) {
      const a = sde.meanCoef(t),
        s2 = sde.std(t) ** 2;
      const c11 = a * a * 0.6 + s2,
        c22 = a * a * 0.4 + s2,
        c12 = a * a * 0.25;
      const det = c11 * c22 - c12 * c12;
      const dx = 0.1 - a * 0.5,
        dy = -0.3 + a * 1;
      const quad = (c22 * dx * dx - 2 * c12 * dx * dy + c11 * dy * dy) / det;
      const ref = -Math.log(2 * Math.PI) - 0.5 * Math.log(det) - 0.5 * quad;
      assert.ok(Math.abs(oracle.logProb(x, t, 1)[0]! - ref) < 1e-12, `t=${t}`);
    }
  });

  it("p_t integrates to 1 (grid quadrature) for diagonal and full covariances", () => {
    const full2 = {
      weights: [0.7, 0.3],
      means: [
        [-1, 0],
        [1.5, 1],
      ],
      covs: [
        [
          [0.3, 0.12],
          [0.12, 0.2],
        ],
        [
          [0.2, -0.1],
          [-0.1, 0.5],
        ],
      ],
    };
    for (const spec of [DIAG, full2]) {
      for (const sde of [vpSde(), veSde({ sigmaMax: 3 })]) {
        const oracle = mixtureOracle(spec, sde),
          t = 0.3,
          m = 400,
          lo = -6,
          hi = 6,
          h = (hi - lo) / m;
        const x = new Float64Array(2 * m * m);
        for (let i = 0; i < m; i++)
          for (let j = 0; j < m; j++) {
            x[2 * (i * m + j)] = lo + (i + 0.5) * h;
            x[2 * (i * m + j) + 1] = lo + (j + 0.5) * h;
          }
        const lp = oracle.logProb(x, t, m * m);
        let mass = 0;
        for (const v of lp) mass += Math.exp(v) * h * h;
        assert.ok(Math.abs(mass - 1) < 1e-3, `${sde.name}: mass ${mass}`);
      }
    }
  });

  it("samples the data mixture: weights, means, covariances", () => {
    const mix = parseMixtureSpec(FULL3),
      n = 40000,
      d = 3;
    const { x, labels } = mix.sample(new Rng(8), n);
    for (let k = 0; k < 2; k++) {
      const rows: number[] = [];
      labels.forEach((l, i) => {
        if (l === k) rows.push(i);
      });
      assert.ok(Math.abs(rows.length / n - mix.weights[k]!) < 0.01, `weight ${k}`);
      const mean = new Float64Array(d);
      for (const i of rows) for (let j = 0; j < d; j++) mean[j]! += x[i * d + j]! / rows.length;
      for (let j = 0; j < d; j++) {
        assert.ok(Math.abs(mean[j]! - mix.means[k * d + j]!) < 0.02, `mean ${k},${j}`);
        for (let l = 0; l < d; l++) {
          let c = 0;
          for (const i of rows) c += (x[i * d + j]! - mean[j]!) * (x[i * d + l]! - mean[l]!);
          c /= rows.length;
          assert.ok(Math.abs(c - FULL3.covs[k]![j]![l]!) < 0.02, `cov ${k}[${j}][${l}] = ${c}`);
        }
      }
    }
  });

  it("fitByComponent recovers the truth from data samples and flags wrong ones", () => {
    const mix = parseMixtureSpec(DIAG),
      n = 8000;
    const { x } = mix.sample(new Rng(9), n);
    const err = fitError(mix, fitByComponent(mix, x, n));
    assert.ok(err.weight < 0.02 && err.mean < 0.05 && err.stdRel < 0.06, JSON.stringify(err));
    const shrunk = x.map((v) => 0.7 * v);
    const bad = fitError(mix, fitByComponent(mix, shrunk, n));
    assert.ok(bad.stdRel > 0.2 || bad.mean > 0.2, `shrunk samples must be flagged: ${JSON.stringify(bad)}`);
    const sd = componentStd(mix, 1);
    assert.ok(Math.abs(sd[0]! - 0.5) < 1e-12 && Math.abs(sd[1]! - 0.3) < 1e-12, "diagonal component std");
    const sdFull = componentStd(parseMixtureSpec(FULL3), 0);
    [0.5, 0.4, 0.3].forEach((v, j) => assert.ok(Math.abs(sdFull[j]! - Math.sqrt(v)) < 1e-12, "full component std"));
  });
});

describe("mixture spec validation", () => {
  const cases: [string, unknown, RegExp][] = [
    ["not JSON", "{weights:", /not valid JSON/],
    ["missing weights", { means: [[0]], stds: [[1]] }, /"weights" must be an array/],
    [
      "weights not summing to 1",
      { weights: [0.5, 0.4], means: [[0], [1]], stds: [[1], [1]] },
      /"weights" sum to 0\.9.*divide each weight by their sum/,
    ],
    ["negative weight", { weights: [1.5, -0.5], means: [[0], [1]], stds: [[1], [1]] }, /"weights\[1\]" is negative/],
    [
      "means count",
      { weights: [0.5, 0.5], means: [[0]], stds: [[1], [1]] },
      /"means" has 1 entries but "weights" has 2/,
    ],
    [
      "ragged means",
      {
        weights: [0.5, 0.5],
        means: [[0, 1], [1]],
        stds: [
          [1, 1],
          [1, 1],
        ],
      },
      /"means\[1\]" has 1 entries but needs 2/,
    ],
    ["non-numeric mean", { weights: [1], means: [["a"]], stds: [[1]] }, /"means\[0\]\[0\]" must be a finite number/],
    ["zero std", { weights: [0.5, 0.5], means: [[0], [1]], stds: [[1], [0]] }, /"stds\[1\]\[0\]" must be positive/],
    [
      "both stds and covs",
      { weights: [1], means: [[0]], stds: [[1]], covs: [[[1]]] },
      /give exactly one of "stds".*or "covs"/,
    ],
    ["neither", { weights: [1], means: [[0]] }, /"stds" is missing/],
    [
      "asymmetric cov",
      {
        weights: [1],
        means: [[0, 0]],
        covs: [
          [
            [1, 0.5],
            [0.2, 1],
          ],
        ],
      },
      /"covs\[0\]" is not symmetric/,
    ],
    [
      "indefinite cov",
      {
        weights: [1],
        means: [[0, 0]],
        covs: [
          [
            [1, 2],
            [2, 1],
          ],
        ],
      },
      /"covs\[0\]" is not positive definite/,
    ],
    ["unknown field", { weights: [1], means: [[0]], stds: [[1]], mean: 1 }, /"mean" is not a known field/],
  ];
  for (const [name, spec, re] of cases) {
    it(`rejects ${name}`, () => assert.throws(() => parseMixtureSpec(spec), re));
  }

  it("accepts a JSON string with full covariances", () => {
    const mix = parseMixtureSpec(JSON.stringify(FULL3));
    assert.equal(mix.dim, 3);
    assert.equal(mix.K, 2);
    assert.equal(mix.kind, "full");
  });
});
