import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rng } from "../src/rng.ts";
import {
  asScoreModel,
  ddpmSchedule,
  ncsnSigmas,
  outputToScore,
  probabilityFlowDriftFromScore,
  reverseDriftFromScore,
  scoreToOutput,
  sdeByName,
  subVpSde,
  veSde,
  vpSde,
  type RawNetwork,
  type Sde,
} from "../src/sde/index.ts";
import { mixtureOracle } from "../src/oracle/index.ts";

const SDES: Sde[] = [
  veSde(),
  vpSde(),
  subVpSde(),
  veSde({ sigmaMin: 0.1, sigmaMax: 10, T: 2 }),
  vpSde({ betaMin: 0.5, betaMax: 8 }),
  subVpSde({ betaMax: 12, T: 0.5 }),
];

function relClose(actual: number, expected: number, rtol: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= rtol * Math.abs(expected),
    `${what}: ${actual} vs ${expected} (rtol ${rtol})`,
  );
}

/**
 * Moment ODEs of a linear SDE dx = c(t)x dt + g(t) dw for x(0) = x₀ fixed:
 * dm/dt = c·m (m = mean coefficient), dv/dt = 2c·v + g² (v = variance). RK4 with fine steps.
 */
function integrateMoments(sde: Sde, t1: number, v0: number, steps = 4000): { m: number; v: number } {
  const rhs = (t: number, m: number, v: number) => {
    const c = sde.driftCoef(t),
      g = sde.diffusion(t);
    return [c * m, 2 * c * v + g * g] as const;
  };
  let m = 1,
    v = v0;
  const h = t1 / steps;
  for (let i = 0; i < steps; i++) {
    const t = i * h;
    const k1 = rhs(t, m, v);
    const k2 = rhs(t + h / 2, m + (h / 2) * k1[0], v + (h / 2) * k1[1]);
    const k3 = rhs(t + h / 2, m + (h / 2) * k2[0], v + (h / 2) * k2[1]);
    const k4 = rhs(t + h, m + h * k3[0], v + h * k3[1]);
    m += (h / 6) * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0]);
    v += (h / 6) * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1]);
  }
  return { m, v };
}

describe("continuous SDEs", () => {
  it("closed-form mean coefficient and std solve the moment ODEs", () => {
    for (const sde of SDES) {
      // VE keeps score_sde's σ_min floor: s(0) = σ_min, so the variance ODE starts at σ_min².
      const v0 = sde.name === "ve" ? sde.std(0) ** 2 : 0;
      if (sde.name !== "ve") assert.equal(sde.std(0), 0, `${sde.name}: s(0) must be 0`);
      assert.equal(sde.meanCoef(0), 1);
      for (const frac of [0.05, 0.3, 0.7, 1]) {
        const t = frac * sde.T;
        const { m, v } = integrateMoments(sde, t, v0);
        relClose(sde.meanCoef(t), m, 1e-8, `${sde.name} a(${t})`);
        relClose(sde.std(t) ** 2, v, 1e-7, `${sde.name} s(${t})²`);
      }
    }
  });

  it("defaults are VE σ 0.01→50, VP/sub-VP β 0.1→20, T = 1", () => {
    const ve = veSde(),
      vp = vpSde(),
      svp = subVpSde();
    for (const s of [ve, vp, svp]) assert.equal(s.T, 1);
    relClose(ve.std(0), 0.01, 1e-12, "σ_min");
    relClose(ve.std(1), 50, 1e-12, "σ_max");
    relClose(vp.diffusion(0) ** 2, 0.1, 1e-12, "β_min");
    relClose(vp.diffusion(1) ** 2, 20, 1e-12, "β_max");
    relClose(svp.meanCoef(1), vp.meanCoef(1), 1e-12, "sub-VP shares VP's mean");
    assert.ok(svp.std(0.5) < vp.std(0.5), "sub-VP variance is below VP's");
  });

  it("prior log-density is the normalized N(0, σ_T² I) and matches the marginal at T", () => {
    const rng = new Rng(11);
    for (const sde of [veSde(), vpSde(), subVpSde()]) {
      const dim = 3,
        n = 20000;
      const z = sde.priorSample(rng, n, dim);
      const lp = sde.priorLogProb(z, n, dim);
      // Monte Carlo: E[−log p(z)] = entropy = (dim/2)·log(2πe σ²)
      let mean = 0,
        sq = 0;
      for (const v of lp) {
        mean += -v;
        sq += v * v;
      }
      mean /= n;
      const se = Math.sqrt((sq / n - mean * mean) / n);
      const entropy = 0.5 * dim * Math.log(2 * Math.PI * Math.E * sde.priorStd ** 2);
      assert.ok(Math.abs(mean - entropy) < 4 * se, `${sde.name}: MC entropy ${mean} vs ${entropy} (se ${se})`);
      // the prior is (close to) the marginal of the forward process at T
      relClose(sde.priorStd, Math.hypot(sde.std(sde.T), 0), 2e-3, `${sde.name} prior std vs s(T)`);
      assert.ok(sde.meanCoef(sde.T) < 0.01 || sde.name === "ve", `${sde.name}: a(T) should be ≈ 0`);
      // one point against a per-coordinate sum of 1-D log densities
      const p = Float64Array.of(0.3, -1.2, 2.5);
      const ref = [0.3, -1.2, 2.5].reduce(
        (acc, v) => acc - 0.5 * Math.log(2 * Math.PI) - Math.log(sde.priorStd) - (v * v) / (2 * sde.priorStd ** 2),
        0,
      );
      relClose(sde.priorLogProb(p, 1, 3)[0]!, ref, 1e-12, `${sde.name} prior log-density`);
    }
  });

  it("discretize is the exact transition kernel and tends to Euler (f·dt, g·√dt) as dt → 0", () => {
    const x = Float64Array.of(1.5, -2);
    for (const sde of SDES) {
      for (const frac of [0.2, 0.9]) {
        const t = frac * sde.T,
          dt = 0.05 * sde.T;
        const { f, G } = sde.discretize(x, t, dt);
        const ratio = 1 + f[0]! / x[0]!;
        relClose(1 + f[1]! / x[1]!, ratio, 1e-12, "f is linear in x");
        // composing N(a(t−dt)x0, s(t−dt)²) with the step gives the marginal at t
        relClose(ratio * sde.meanCoef(t - dt), sde.meanCoef(t), 1e-12, `${sde.name} step mean`);
        relClose(ratio ** 2 * sde.std(t - dt) ** 2 + G * G, sde.std(t) ** 2, 1e-10, `${sde.name} step variance`);
        const small = 1e-5 * sde.T,
          d = sde.discretize(x, t, small);
        relClose(d.f[0]! / small, sde.driftCoef(t) * x[0]!, 1e-3, `${sde.name} f/dt → c(t)x`);
        relClose((d.G * d.G) / small, sde.diffusion(t) ** 2, 1e-3, `${sde.name} G²/dt → g²`);
      }
    }
  });

  it("probability-flow drift transports Gaussian data exactly: dx/dt = x·V'(t)/(2V(t))", () => {
    // data N(0, v0 I) ⇒ p_t = N(0, V I), V = a²v0 + s²; the PF ODE must follow x(t) = x0·√(V(t)/V(0)).
    const v0 = 0.7,
      x = Float64Array.of(0.4, -1.1);
    for (const sde of SDES) {
      const V = (t: number) => sde.meanCoef(t) ** 2 * v0 + sde.std(t) ** 2;
      for (const frac of [0.1, 0.5, 0.95]) {
        const t = frac * sde.T,
          h = 1e-6 * sde.T;
        const dV = (V(t + h) - V(t - h)) / (2 * h);
        const score = x.map((v) => -v / V(t));
        const pf = probabilityFlowDriftFromScore(sde, x, score, t);
        for (let j = 0; j < 2; j++) relClose(pf[j]!, (x[j]! * dV) / (2 * V(t)), 1e-6, `${sde.name} PF drift`);
        const rev = reverseDriftFromScore(sde, x, score, t);
        for (let j = 0; j < 2; j++)
          relClose(rev[j]!, 2 * pf[j]! - sde.driftCoef(t) * x[j]!, 1e-12, `${sde.name} reverse drift`);
      }
    }
  });

  it("rejects bad options and unknown names with clear messages", () => {
    assert.throws(() => veSde({ sigmaMin: -1 }), /"sigmaMin"/);
    assert.throws(() => vpSde({ betaMax: 0.01 }), /"betaMax"/);
    assert.throws(() => sdeByName("vpp"), /unknown SDE "vpp"; use one of ve, vp, subvp/);
    assert.equal(sdeByName("subvp").name, "subvp");
  });
});

describe("DDPM and NCSN discrete processes", () => {
  const ddpm = ddpmSchedule();

  it("uses β linear from 1e-4 to 0.02 over 1000 steps", () => {
    assert.equal(ddpm.steps, 1000);
    relClose(ddpm.betas[0]!, 1e-4, 1e-12, "β_1");
    relClose(ddpm.betas[999]!, 0.02, 1e-12, "β_N");
    relClose(ddpm.betas[1]! - ddpm.betas[0]!, (0.02 - 1e-4) / 999, 1e-9, "linear spacing");
  });

  it("closed-form q(x_t|x_0) equals composing the one-step chain", () => {
    let m = 1,
      v = 0;
    for (let i = 0; i < ddpm.steps; i++) {
      const b = ddpm.betas[i]!;
      m *= Math.sqrt(1 - b);
      v = (1 - b) * v + b; // x_i = √(1−β_i) x_{i−1} + √β_i z
      if (i === 0 || i === 499 || i === 999) {
        const q = ddpm.marginal(i);
        relClose(q.meanCoef, m, 1e-12, `mean coef at ${i}`);
        relClose(q.std ** 2, v, 1e-12, `variance at ${i}`);
      }
    }
    // DDPM with N = 1000 is the VP SDE's discretization (β_i ≈ β(t)/N): ᾱ_N ≈ a(1)²
    // (log ᾱ_N = Σ log(1 − β_i) = −Σβ_i − Σβ_i²/2 − …, so they agree to O(Σβ²) ≈ 0.07 in 10)
    relClose(Math.log(ddpm.alphaBars[999]!), 2 * Math.log(vpSde().meanCoef(1)), 0.01, "log ᾱ_N vs VP log a(1)²");
  });

  it("samples q(x_t|x_0) with the right moments", () => {
    const rng = new Rng(3),
      n = 20000,
      i = 300;
    const x0 = new Float64Array(n).fill(1.5);
    const xt = ddpm.sampleMarginal(x0, i, rng.normals(n) as Float64Array);
    let mean = 0,
      sq = 0;
    for (const v of xt) {
      mean += v;
      sq += v * v;
    }
    mean /= n;
    const sd = Math.sqrt(sq / n - mean * mean),
      q = ddpm.marginal(i);
    assert.ok(Math.abs(mean - 1.5 * q.meanCoef) < (4 * q.std) / Math.sqrt(n), `mean ${mean}`);
    relClose(sd, q.std, 0.03, "std");
  });

  it("posterior q(x_{t−1}|x_t,x_0) matches Bayes' rule for the two Gaussians", () => {
    const x0 = Float64Array.of(0.8, -0.3),
      xi = Float64Array.of(-0.5, 1.7);
    for (const i of [1, 10, 500, 999]) {
      const { mean, variance } = ddpm.posterior(x0, xi, i);
      // q(x_{i−1}|x_0) = N(√ᾱ_{i−1} x0, 1−ᾱ_{i−1}); q(x_i|x_{i−1}) = N(√α_i x_{i−1}, β_i)
      const ab = ddpm.alphaBars[i - 1]!,
        a = ddpm.alphas[i]!,
        b = ddpm.betas[i]!;
      const prec = 1 / (1 - ab) + a / b;
      relClose(variance, 1 / prec, 1e-10, `variance ${i}`);
      for (let j = 0; j < 2; j++) {
        const m = ((Math.sqrt(ab) * x0[j]!) / (1 - ab) + (Math.sqrt(a) * xi[j]!) / b) / prec;
        relClose(mean[j]!, m, 1e-10, `mean ${i}`);
      }
    }
    const first = ddpm.posterior(x0, xi, 0);
    assert.equal(first.variance, 0);
    assert.deepEqual(Array.from(first.mean), Array.from(x0));
    assert.throws(() => ddpm.posterior(x0, xi, 1000), /step index/);
  });

  it("NCSN σ levels are geometric from σ_max to σ_min and match the VE SDE", () => {
    const L = 12,
      s = ncsnSigmas({ levels: L });
    assert.equal(s.length, L);
    relClose(s[0]!, 50, 1e-12, "σ_1");
    relClose(s[L - 1]!, 0.01, 1e-12, "σ_L");
    const ve = veSde();
    for (let i = 1; i < L; i++) {
      relClose(s[i]! / s[i - 1]!, s[1]! / s[0]!, 1e-10, "constant ratio");
      relClose(s[i]!, ve.std(1 - i / (L - 1)), 1e-10, "VE σ(t) on the grid");
    }
    assert.throws(() => ncsnSigmas({ levels: 0 }), /"levels"/);
  });
});

describe("network parameterizations", () => {
  const spec = {
    weights: [0.6, 0.4],
    means: [
      [-1, 0.5],
      [1.5, -0.5],
    ],
    covs: [
      [
        [0.3, 0.1],
        [0.1, 0.2],
      ],
      [
        [0.25, -0.05],
        [-0.05, 0.4],
      ],
    ],
  };

  for (const param of ["eps", "x0"] as const) {
    it(`converts ${param} outputs and their VJPs to the score (oracle-backed ${param} network)`, async () => {
      for (const sde of [vpSde(), veSde(), subVpSde()]) {
        const oracle = mixtureOracle(spec, sde);
        const n = 4,
          rng = new Rng(5);
        const x = rng.normals(2 * n) as Float64Array;
        const t = Float64Array.of(0.01, 0.2, 0.5, 0.9);
        const v = rng.normals(2 * n) as Float64Array;
        // An ε-network outputs −s(t)·score; an x0-network outputs (x + s(t)²·score)/a(t).
        const rowCoef = (i: number) => ({ a: sde.meanCoef(t[i]!), s: sde.std(t[i]!) });
        const toOut = (sc: Float64Array, xx: Float64Array) =>
          sc.map((val, k) => {
            const { a, s } = rowCoef(Math.floor(k / 2));
            return param === "eps" ? -s * val : (xx[k]! + s * s * val) / a;
          });
        const toOutVjp = (vj: Float64Array, vv: Float64Array) =>
          vj.map((val, k) => {
            const { a, s } = rowCoef(Math.floor(k / 2));
            return param === "eps" ? -s * val : (vv[k]! + s * s * val) / a;
          });
        const net: RawNetwork = {
          dim: 2,
          forward: async (xx, tt, nn) => toOut(await oracle.score(xx, tt, nn), xx),
          forwardVjp: async (xx, tt, nn, vv) => {
            const r = await oracle.scoreVjp(xx, tt, nn, vv);
            return { out: toOut(r.score, xx), vjp: toOutVjp(r.vjp, vv) };
          },
        };
        const model = asScoreModel(net, sde, param);
        const ref = await oracle.scoreVjp(x, t, n, v);
        const got = await model.scoreVjp(x, t, n, v);
        const sc = await model.score(x, t, n);
        for (let k = 0; k < 2 * n; k++) {
          assert.ok(
            Math.abs(got.score[k]! - ref.score[k]!) < 1e-9 * (1 + Math.abs(ref.score[k]!)),
            `${sde.name} score`,
          );
          assert.ok(Math.abs(sc[k]! - ref.score[k]!) < 1e-9 * (1 + Math.abs(ref.score[k]!)), `${sde.name} score()`);
          assert.ok(Math.abs(got.vjp[k]! - ref.vjp[k]!) < 1e-8 * (1 + Math.abs(ref.vjp[k]!)), `${sde.name} vjp`);
        }
        assert.equal(model.nfe, 2);
        // scoreToOutput is the inverse map
        const back = outputToScore(param, sde, scoreToOutput(param, sde, ref.score, x, t, n), x, t, n);
        for (let k = 0; k < 2 * n; k++)
          assert.ok(Math.abs(back[k]! - ref.score[k]!) < 1e-9 * (1 + Math.abs(ref.score[k]!)));
      }
    });
  }

  it("rejects an unknown parameterization", () => {
    const net: RawNetwork = {
      dim: 1,
      forward: async (x) => x,
      forwardVjp: async (x, _t, _n, v) => ({ out: x, vjp: v }),
    };
    assert.throws(
      () => asScoreModel(net, vpSde(), "v" as never),
      /unknown parameterization "v"; use one of score, eps, x0/,
    );
  });
});
