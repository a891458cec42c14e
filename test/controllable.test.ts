import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  MixtureClassifier,
  classifierFreeGuided,
  classifierGuided,
  compareConditional,
  grayConstraint,
  interpolate,
  maskConstraint,
  namedMask,
  sampleConstrained,
  sampleExactConditional,
  slerp,
  toGray,
} from "../src/controllable/index.ts";
import { decode, encode } from "../src/likelihood/index.ts";
import {
  GaussianMixture,
  MixtureOracle,
  componentStd,
  conditionMixture,
  fitByComponent,
  mixtureOracle,
} from "../src/oracle/index.ts";
import { Rng } from "../src/rng.ts";
import { renoise, sample } from "../src/sampling/index.ts";
import { subVpSde, veSde, vpSde, type Sde } from "../src/sde/index.ts";
import { THREE_COMPONENTS, knownCoordinate } from "./helpers/mixtures.ts";

const SPEC = THREE_COMPONENTS;

/** Component k alone, as an oracle. */
function componentOracle(o: MixtureOracle, k: number, sde: Sde): MixtureOracle {
  const m = o.mixture,
    d = m.dim;
  return new MixtureOracle(
    new GaussianMixture(
      d,
      Float64Array.of(1),
      m.means.slice(k * d, (k + 1) * d),
      "full",
      m.cov.slice(k * d * d, (k + 1) * d * d),
    ),
    sde,
  );
}

const SDES: [string, () => Sde][] = [
  ["VE", veSde],
  ["VP", vpSde],
  ["sub-VP", subVpSde],
];

describe("classifier guidance with the exact mixture classifier", () => {
  it("at scale 1 the guided score is component K's exact score (VE, VP, sub-VP; all t)", async () => {
    const rng = new Rng(3);
    for (const [name, mk] of SDES) {
      const sde = mk(),
        o = mixtureOracle(SPEC, sde),
        clf = new MixtureClassifier(o.mixture, sde);
      const n = 64,
        x = Float64Array.from(rng.normals(n * 2), (v) => 3 * v);
      const t = Float64Array.from({ length: n }, (_, i) => sde.eps + (sde.T - sde.eps) * (i / (n - 1)));
      for (let k = 0; k < 3; k++) {
        const guided = await classifierGuided(o, clf, k, 1).score(x, t, n);
        const exact = await componentOracle(o, k, sde).score(x, t, n);
        const err = Math.max(...guided.map((g, i) => Math.abs(g - exact[i]!) / Math.max(1, Math.abs(exact[i]!))));
        assert.ok(err < 1e-9, `${name}, class ${k}: guided vs component score differ by ${err}`);
      }
    }
  });

  it("the guidance gradient and its Hessian–vector product match float64 finite differences", async () => {
    const sde = vpSde(),
      o = mixtureOracle(SPEC, sde),
      clf = new MixtureClassifier(o.mixture, sde),
      rng = new Rng(4);
    const n = 8,
      x = Float64Array.from(rng.normals(n * 2), (v) => 2 * v),
      t = new Float64Array(n).fill(0.3),
      v = rng.normals(n * 2) as Float64Array;
    const y = Int32Array.from({ length: n }, (_, i) => i % 3),
      h = 1e-6;
    const { grad } = await clf.logProbGrad(x, t, n, y);
    const { vjp } = await clf.gradVjp(x, t, n, y, v);
    for (let i = 0; i < n * 2; i++) {
      const xp = Float64Array.from(x),
        xm = Float64Array.from(x);
      xp[i]! += h;
      xm[i]! -= h;
      const [lp, lm] = [(await clf.logProbGrad(xp, t, n, y)).logp, (await clf.logProbGrad(xm, t, n, y)).logp];
      const row = Math.floor(i / 2),
        fd = (lp[row]! - lm[row]!) / (2 * h);
      assert.ok(
        Math.abs(fd - grad[i]!) < 1e-6 * Math.max(1, Math.abs(fd)),
        `d log p(y|x)/dx[${i}]: ${grad[i]} vs ${fd}`,
      );
      // vᵀ∇²: column i of the symmetric Hessian, dotted with v, by differences of the gradient
      const [gp, gm] = [(await clf.logProbGrad(xp, t, n, y)).grad, (await clf.logProbGrad(xm, t, n, y)).grad];
      let fdv = 0;
      for (let c = 0; c < 2; c++) fdv += (v[row * 2 + c]! * (gp[row * 2 + c]! - gm[row * 2 + c]!)) / (2 * h);
      assert.ok(
        Math.abs(fdv - vjp[i]!) < 1e-5 * Math.max(1, Math.abs(fdv)),
        `vᵀ∇² log p(y|x) [${i}]: ${vjp[i]} vs ${fdv}`,
      );
    }
  });

  const N = 2000;
  const cases: [string, Sde, string, Record<string, unknown>][] = [
    ["VE, PC", veSde(), "pc", { steps: 500 }],
    ["VP, PC", vpSde(), "pc", { steps: 500 }],
    ["sub-VP, PC", subVpSde(), "pc", { steps: 500 }],
    ["VP, probability-flow ODE", vpSde(), "ode", {}],
  ];
  for (const [what, sde, sampler, opts] of cases) {
    it(`guided samples at scale 1 are component K (${what}; n = ${N})`, async () => {
      const o = mixtureOracle(SPEC, sde),
        clf = new MixtureClassifier(o.mixture, sde);
      for (const k of sampler === "ode" ? [0, 2] : [2]) {
        const r = await sample(sampler, classifierGuided(o, clf, k, 1), sde, { n: N, rng: new Rng(7 + k), ...opts });
        const fits = fitByComponent(o.mixture, r.x, N),
          sd = componentStd(o.mixture, k);
        fits.forEach((f, j) => {
          if (j !== k)
            assert.ok(
              f.weight <= 0.005,
              `${what} class ${k}: ${(100 * f.weight).toFixed(2)} % of samples in component ${j}`,
            );
        });
        for (let c = 0; c < 2; c++) {
          assert.ok(
            Math.abs(fits[k]!.mean[c]! - o.mixture.means[k * 2 + c]!) <= 0.1,
            `${what} class ${k}: mean[${c}] ${fits[k]!.mean[c]}`,
          );
          assert.ok(
            Math.abs(fits[k]!.std[c]! / sd[c]! - 1) <= 0.12,
            `${what} class ${k}: std[${c}] ${fits[k]!.std[c]} vs ${sd[c]}`,
          );
        }
      }
    });
  }

  it("rejects a class out of range and a classifier of another dimension", () => {
    const sde = vpSde(),
      o = mixtureOracle(SPEC, sde),
      clf = new MixtureClassifier(o.mixture, sde);
    assert.throws(() => classifierGuided(o, clf, 3, 1), /class 3 is out of range; the classifier knows classes 0 to 2/);
    const o3 = mixtureOracle({ weights: [1], means: [[0, 0, 0]], stds: [[1, 1, 1]] }, sde);
    assert.throws(() => classifierGuided(o3, clf, 0, 1), /dimension 2 but the score model's dimension is 3/);
  });
});

describe("classifier-free guidance", () => {
  it("w = 0 equals conditional sampling bit for bit; w = 2 is (1+w)·s(x|y) − w·s(x)", async () => {
    const sde = vpSde(),
      o = mixtureOracle(SPEC, sde),
      cond = componentOracle(o, 1, sde);
    const a = await sample("pc", classifierFreeGuided(cond, o, 0), sde, { n: 200, rng: new Rng(5), steps: 100 });
    const b = await sample("pc", cond, sde, { n: 200, rng: new Rng(5), steps: 100 });
    assert.deepEqual(a.x, b.x);
    const x = Float64Array.of(0.3, -0.2, 1.5, 2),
      t = Float64Array.of(0.2, 0.7);
    const g = await classifierFreeGuided(cond, o, 2).score(x, t, 2),
      sc = await cond.score(x, t, 2),
      su = await o.score(x, t, 2);
    g.forEach((v, i) => assert.ok(Math.abs(v - (3 * sc[i]! - 2 * su[i]!)) < 1e-12));
  });
});

describe("inpainting (replacement method) and the exact mixture conditional", () => {
  it("the known part equals the data exactly, for every PC-loop sampler and the ODE", async () => {
    const sde = vpSde(),
      o = mixtureOracle(SPEC, sde),
      n = 50;
    const { y, known } = knownCoordinate(n, 0, 0.75);
    for (const [name, opts] of [
      ["pc", { steps: 50 }],
      ["em", { steps: 50 }],
      ["ancestral", { steps: 50 }],
      ["ddim", { steps: 20 }],
      ["ald", { steps: 20, correctorSteps: 2, stepLr: 1e-7 }],
      ["ode", { method: "euler", steps: 20 }],
      ["ode", {}],
    ] as const) {
      const r = await sampleConstrained(name, o, sde, maskConstraint(y, known), {
        n,
        rng: new Rng(1),
        denoise: name === "pc" ? "tweedie" : "none",
        ...opts,
      });
      for (let i = 0; i < n; i++) {
        assert.equal(r.x[i * 2], 0.75, `${name}: known entry of row ${i}`);
        assert.ok(Number.isFinite(r.x[i * 2 + 1]!), `${name}: unknown entry of row ${i}`);
      }
    }
  });

  it("conditionMixture equals the closed-form Gaussian conditional and reweights components", () => {
    // one correlated Gaussian: x₂ | x₁ ~ N(μ₂ + ρσ₂/σ₁ (x₁ − μ₁), σ₂²(1 − ρ²))
    const m = new GaussianMixture(
      2,
      Float64Array.of(0.4, 0.6),
      Float64Array.of(1, -1, -1, 2),
      "full",
      Float64Array.of(0.25, 0.1, 0.1, 0.5, 1, 0, 0, 2),
    );
    const c = conditionMixture(m, [0], [0.5]);
    assert.deepEqual(c.unknown, [1]);
    const rho = 0.1 / Math.sqrt(0.25 * 0.5);
    assert.ok(Math.abs(c.mixture.means[0]! - (-1 + ((rho * Math.sqrt(0.5)) / 0.5) * (0.5 - 1))) < 1e-12);
    assert.ok(Math.abs(c.mixture.cov[0]! - 0.5 * (1 - rho * rho)) < 1e-12);
    assert.ok(Math.abs(c.mixture.means[1]! - 2) < 1e-12 && Math.abs(c.mixture.cov[1]! - 2) < 1e-12);
    const l0 = (0.4 * Math.exp((-0.5 * (0.5 - 1) ** 2) / 0.25)) / Math.sqrt(0.25),
      l1 = (0.6 * Math.exp((-0.5 * (0.5 + 1) ** 2) / 1)) / 1;
    assert.ok(Math.abs(c.mixture.weights[0]! - l0 / (l0 + l1)) < 1e-12, `weights ${c.mixture.weights}`);
  });

  it("oracle study: exact sampler matches the conditional; the replacement method's gap stays within its documented bound", async () => {
    const sde = vpSde(),
      o = mixtureOracle(SPEC, sde),
      n = 2000;
    const { y, known } = knownCoordinate(n, 1, -1); // x₂ = −1: components 0 and 1 compete (exact weights 0.556 / 0.444)
    const cond = conditionMixture(o.mixture, [1], [-1]);
    const exact = compareConditional(
      cond.mixture,
      sampleExactConditional(o.mixture, y, known, n, 1, new Rng(2)),
      n,
      cond.unknown,
      2,
    );
    assert.ok(
      exact.weight <= 0.03 && exact.mean <= 0.05 && exact.stdRel <= 0.06,
      `exact sampler: ${JSON.stringify(exact)}`,
    );
    const r = await sampleConstrained("pc", o, sde, maskConstraint(y, known), { n, rng: new Rng(1), steps: 500 });
    const gap = compareConditional(cond.mixture, r.x, n, cond.unknown, 2);
    // documented in README (measured 0.06 weight, 0.02 mean, 0.04 std at n = 4000, 1000 steps)
    assert.ok(gap.weight <= 0.1 && gap.mean <= 0.06 && gap.stdRel <= 0.1, `replacement method: ${JSON.stringify(gap)}`);
  });

  it("renoise is the forward transition s → t: from the time-s marginal of a point it gives the time-t marginal (VE, VP, sub-VP)", () => {
    const n = 40000,
      x0 = 0.7,
      s = 0.2,
      t = 0.45;
    for (const [label, make] of SDES) {
      const sde = make(),
        rng = new Rng(5);
      const z = rng.normals(n);
      const xs = Float64Array.from(z, (v) => sde.meanCoef(s) * x0 + sde.std(s) * v);
      const ctx = { model: null as never, sde, n, dim: 1, rng, eps: sde.eps };
      const xt = renoise(xs, s, t, ctx);
      let m = 0,
        q = 0;
      for (const v of xt) m += v / n;
      for (const v of xt) q += (v - m) ** 2 / (n - 1);
      const mean = sde.meanCoef(t) * x0,
        sd = sde.std(t);
      assert.ok(Math.abs(m - mean) < (4 * sd) / Math.sqrt(n), `${label}: mean ${m} vs ${mean}`);
      assert.ok(Math.abs(Math.sqrt(q) / sd - 1) < 0.02, `${label}: std ${Math.sqrt(q)} vs ${sd}`);
    }
  });

  it("resampling (RePaint) keeps the known part exact and moves the replacement method towards the exact conditional", async () => {
    const sde = vpSde(),
      o = mixtureOracle(SPEC, sde),
      n = 600;
    // x₁ = 0.3: the exact conditional is component 2 (weight 0.995); plain replacement puts ~40–60 % in component 1
    const { y, known } = knownCoordinate(n, 0, 0.3);
    const cond = conditionMixture(o.mixture, [0], [0.3]);
    const gapOf = async (resample: number) => {
      const r = await sampleConstrained("ancestral", o, sde, maskConstraint(y, known), {
        n,
        rng: new Rng(1),
        steps: 60,
        resample,
      });
      for (let i = 0; i < n; i++) assert.equal(r.x[i * 2], 0.3, `resample ${resample}: known entry of row ${i}`);
      assert.equal(r.nfe, 60 * resample);
      return compareConditional(cond.mixture, r.x, n, cond.unknown, 2);
    };
    const plain = await gapOf(1),
      harmonized = await gapOf(12);
    assert.ok(plain.weights[1]! > 0.35, `plain replacement: ${JSON.stringify(plain)}`);
    assert.ok(
      harmonized.weights[1]! < 0.6 * plain.weights[1]! && harmonized.weight < plain.weight,
      `resample 12: ${JSON.stringify(harmonized)} vs plain ${JSON.stringify(plain)}`,
    );
    await assert.rejects(
      sampleConstrained("ode", o, sde, maskConstraint(y, known), { n, rng: new Rng(1), resample: 2 }),
      /resample/,
    );
  });

  it("named masks mark the known region; a mask of the wrong size is refused", () => {
    const m = namedMask("top-half", 1, 4, 4);
    assert.deepEqual([...m], [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual([...namedMask("center-box", 1, 4, 4, true)], [1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1]);
    assert.throws(
      () => maskConstraint(new Float64Array(4), new Uint8Array(3)),
      /data has 4 entries but the mask has 3/,
    );
    assert.throws(() => namedMask("middle", 1, 4, 4), /unknown mask "middle"/);
  });
});

describe("colorization (decoupled gray channel)", () => {
  it("the gray channel of every result equals the input's to float precision", async () => {
    // an RGB "image" mixture: 3×2×2, two components with different colors
    const d = 12,
      sde = vpSde();
    const means = [...Array(d)]
      .map((_, i): number => (i < 4 ? 0.6 : i < 8 ? -0.2 : 0.1))
      .concat([...Array(d)].map((_, i) => (i < 4 ? -0.5 : i < 8 ? 0.4 : 0.3)));
    const o = new MixtureOracle(
      new GaussianMixture(
        d,
        Float64Array.of(0.5, 0.5),
        Float64Array.from(means),
        "diag",
        new Float64Array(2 * d).fill(0.04),
      ),
      sde,
    );
    const n = 20,
      gray = Float64Array.from(new Rng(9).normals(n * 4), (v) => 0.3 * v);
    for (const [name, opts] of [
      ["pc", { steps: 100 }],
      ["ode", {}],
    ] as const) {
      const r = await sampleConstrained(name, o, sde, grayConstraint(gray, n, 2, 2), { n, rng: new Rng(2), ...opts });
      const g = toGray(r.x, n, 2, 2);
      g.forEach((v, i) => assert.ok(Math.abs(v - gray[i]!) < 1e-12, `${name}: gray ${v} vs input ${gray[i]}`));
      assert.ok(
        r.x.some((v, i) => Math.abs(v - gray[Math.floor(i / 12) * 4 + (i % 4)]!) > 0.05),
        `${name}: result is not simply gray`,
      );
    }
  });
});

describe("latent encoding and interpolation", () => {
  it("encode → decode reconstructs 2-D points and 16-dim 'images' (oracle scores, default tolerances)", async () => {
    for (const [what, o] of [
      ["2-D", mixtureOracle(SPEC, vpSde())],
      [
        "1×4×4",
        new MixtureOracle(
          new GaussianMixture(
            16,
            Float64Array.of(0.5, 0.5),
            Float64Array.from({ length: 32 }, (_, i) => (i < 16 ? 0.5 : -0.5)),
            "diag",
            new Float64Array(32).fill(0.05),
          ),
          vpSde(),
        ),
      ],
    ] as const) {
      const n = 20,
        x = o.sampleData(new Rng(3), n);
      const { z } = await encode(o, o.sde, x, n);
      const back = (await decode(o, o.sde, z, n)).x;
      const err = Math.max(...back.map((v, i) => Math.abs(v - x[i]!)));
      assert.ok(err < 4e-3, `${what}: round-trip error ${err}`); // measured max 1.8e-3 (2-D) and 2.6e-4 (16-dim) over 200 points
      assert.ok(Math.max(...z.map((v, i) => Math.abs(v - x[i]!))) > 0.1, `${what}: latents differ from the data`);
    }
  });

  it("slerp keeps endpoints and norms of equal-norm vectors; interpolate's end frames reconstruct the inputs", async () => {
    const a = Float64Array.of(3, 0),
      b = Float64Array.of(0, 3);
    assert.deepEqual(slerp(a, b, 0), a);
    assert.deepEqual(slerp(a, b, 1), b);
    const mid = slerp(a, b, 0.5);
    assert.ok(Math.abs(Math.hypot(mid[0]!, mid[1]!) - 3) < 1e-12 && Math.abs(mid[0]! - mid[1]!) < 1e-12);
    const o = mixtureOracle(SPEC, vpSde());
    const r = await interpolate(o, o.sde, Float64Array.of(-2, -1), Float64Array.of(2, -1), 5);
    assert.equal(r.x.length, 10);
    assert.ok(Math.abs(r.x[0]! + 2) < 2e-3 && Math.abs(r.x[8]! - 2) < 2e-3, `end frames ${r.x}`);
  });
});
