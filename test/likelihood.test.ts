import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rng } from "../src/rng.ts";
import { subVpSde, veSde, vpSde, type Sde } from "../src/sde/index.ts";
import { mixtureOracle, type MixtureOracle } from "../src/oracle/index.ts";
import { bitsPerDim, bpdOffset, decode, encode, logLikelihood, uniformDequantize } from "../src/likelihood/index.ts";

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
const FULL = {
  weights: [0.6, 0.4],
  means: [
    [1, 0, -0.5],
    [-1, 0.5, 0.5],
  ],
  covs: [
    [
      [0.3, 0.1, 0.05],
      [0.1, 0.25, -0.05],
      [0.05, -0.05, 0.2],
    ],
    [
      [0.2, -0.04, 0],
      [-0.04, 0.3, 0.06],
      [0, 0.06, 0.15],
    ],
  ],
};
const EPS = 1e-5;

/** Data samples plus two off-distribution points (between modes and in a tail). */
function points(oracle: MixtureOracle, n: number, seed: number): Float64Array {
  const x = oracle.sampleData(new Rng(seed), n),
    d = oracle.dim;
  for (let j = 0; j < d; j++) {
    x[j] = 0.2 * j;
    x[d + j] = 1.5 + 0.5 * j;
  }
  return x;
}

describe("likelihood by the probability-flow ODE (oracle score, exact divergence)", () => {
  const cases: [string, Sde, unknown][] = [
    ["VE", veSde(), DIAG],
    ["VP", vpSde(), DIAG],
    ["sub-VP", subVpSde(), DIAG],
    ["VP, full covariance 3-D", vpSde(), FULL],
  ];
  for (const [label, sde, spec] of cases) {
    it(`${label}: log p_eps(x) within 0.03 nats + 0.2 % of the exact marginal`, async () => {
      const oracle = mixtureOracle(spec, sde),
        n = 40,
        x = points(oracle, n, 31);
      const r = await logLikelihood(oracle, sde, x, n, { eps: EPS, rtol: 1e-5, atol: 1e-5, divergence: "exact" });
      const exact = oracle.logProb(x, EPS, n);
      for (let i = 0; i < n; i++) {
        const err = Math.abs(r.logp[i]! - exact[i]!);
        assert.ok(
          err <= 0.03 + 0.002 * Math.abs(exact[i]!),
          `point ${i}: ${r.logp[i]} vs exact ${exact[i]} (err ${err})`,
        );
        assert.ok(Math.abs(r.logp[i]! - (r.priorLogp[i]! + r.deltaLogp[i]!)) < 1e-12, "logp = prior + Δ");
      }
      // Most of the remaining error is the prior approximation p_T ≈ N(0, σ_T² I) (for VE the true
      // p_T has means μ_k, worth ≈ x·μ/σ_max² ≈ 0.02 nats). With the exact log p_T(z) in its place the
      // ODE integral itself must be accurate to the solver tolerance.
      const exactPrior = oracle.logProb(r.z, sde.T, n);
      for (let i = 0; i < n; i++) {
        const err = Math.abs(exactPrior[i]! + r.deltaLogp[i]! - exact[i]!);
        assert.ok(
          err < 2e-3 + 2e-4 * Math.abs(exact[i]!),
          `point ${i}: with the exact p_T the error is ${err} (exact ${exact[i]})`,
        );
      }
      assert.equal(r.nfe, oracle.nfe, "nfe counts one batched scoreVjp per ODE evaluation");
      assert.ok(r.nfe > 10 && r.nfe < 2000, `nfe ${r.nfe}`);
      const bpd = bitsPerDim(r.logp, oracle.dim);
      for (let i = 0; i < n; i++)
        assert.ok(
          Math.abs(r.bpd[i]! - bpd[i]!) < 1e-12 && Math.abs(bpd[i]! + r.logp[i]! / (oracle.dim * Math.LN2)) < 1e-12,
        );
    });
  }

  it('the "auto" divergence is exact for small dim (deterministic, no rng needed)', async () => {
    const sde = vpSde(),
      oracle = mixtureOracle(DIAG, sde),
      x = points(oracle, 5, 3);
    const a = await logLikelihood(oracle, sde, x, 5);
    const b = await logLikelihood(oracle, sde, x, 5, { divergence: "exact" });
    assert.deepEqual(Array.from(a.logp), Array.from(b.logp));
  });

  for (const probe of ["rademacher", "gaussian"] as const) {
    it(`Hutchinson–Skilling (${probe}) is unbiased: the mean over probes approaches the exact value`, async () => {
      const sde = vpSde(),
        oracle = mixtureOracle(FULL, sde),
        n = 6,
        x = points(oracle, n, 12),
        reps = 40;
      const exact = await logLikelihood(oracle, sde, x, n, { divergence: "exact" });
      const rng = new Rng(77);
      const est: number[][] = Array.from({ length: n }, () => []);
      for (let r = 0; r < reps; r++) {
        const h = await logLikelihood(oracle, sde, x, n, { divergence: "hutchinson", probe, rng: rng.fork(r) });
        h.logp.forEach((v, i) => est[i]!.push(v));
      }
      const sds: number[] = [];
      for (let i = 0; i < n; i++) {
        const m = est[i]!.reduce((a, b) => a + b, 0) / reps;
        const sd = Math.sqrt(est[i]!.reduce((a, b) => a + (b - m) ** 2, 0) / (reps - 1));
        sds.push(sd);
        assert.ok(sd > 1e-3, `point ${i}: probes must make the estimate random (sd ${sd})`);
        assert.ok(
          Math.abs(m - exact.logp[i]!) < 4 * (sd / Math.sqrt(reps)) + 0.02,
          `point ${i}: mean ${m} vs exact ${exact.logp[i]} (sd ${sd})`,
        );
      }
      // 400 probes averaged in one batched solve: the error shrinks like sd/√400. (The probe is fixed
      // along the trajectory, so Gaussian probes carry the variance of ‖ε‖² through ∫½g² dt ≈ 5 nats:
      // sd ≈ 12 nats per probe here, against ≈ 3 for Rademacher probes.)
      const many = await logLikelihood(oracle, sde, x, n, {
        divergence: "hutchinson",
        probe,
        probes: 400,
        rng: new Rng(5),
      });
      for (let i = 0; i < n; i++) {
        const bound = 4 * (sds[i]! / 20) + 0.02;
        assert.ok(
          Math.abs(many.logp[i]! - exact.logp[i]!) < bound,
          `400 probes, point ${i}: ${many.logp[i]} vs ${exact.logp[i]} (bound ${bound})`,
        );
      }
    });
  }

  it("uses Hutchinson automatically above 16 dimensions (and then needs an rng)", async () => {
    const dim = 20,
      sde = vpSde();
    const spec = {
      weights: [1],
      means: [Array.from({ length: dim }, (_, j) => 0.1 * j)],
      stds: [Array.from({ length: dim }, () => 0.5)],
    };
    const oracle = mixtureOracle(spec, sde),
      x = oracle.sampleData(new Rng(1), 3);
    await assert.rejects(logLikelihood(oracle, sde, x, 3), /Hutchinson divergence needs an "rng"/);
    const r = await logLikelihood(oracle, sde, x, 3, { rng: new Rng(2), probes: 8 });
    const exact = oracle.logProb(x, EPS, 3);
    for (let i = 0; i < 3; i++)
      assert.ok(Math.abs(r.logp[i]! - exact[i]!) < 1.5, `dim 20 estimate ${r.logp[i]} vs ${exact[i]}`);
  });

  it("rejects bad input with clear messages", async () => {
    const sde = vpSde(),
      oracle = mixtureOracle(DIAG, sde);
    await assert.rejects(logLikelihood(oracle, sde, Float64Array.of(1, NaN), 1), /non-finite value \(NaN\) at index 1/);
    await assert.rejects(logLikelihood(oracle, sde, new Float64Array(5), 2), /length 5 but n·dim = 2·2 = 4/);
    await assert.rejects(logLikelihood(oracle, sde, new Float64Array(2), 1, { eps: 0 }), /"eps" must lie in/);
    await assert.rejects(
      logLikelihood(oracle, sde, new Float64Array(2), 1, { divergence: "approx" as never }),
      /"divergence" must be auto, exact or hutchinson/,
    );
  });
});

describe("encoding and decoding with the probability-flow ODE", () => {
  for (const sde of [vpSde(), veSde(), subVpSde()]) {
    it(`${sde.name}: decode(encode(x)) returns x`, async () => {
      const oracle = mixtureOracle(DIAG, sde),
        n = 30,
        x = points(oracle, n, 8);
      const opts = { eps: 1e-3, rtol: 1e-7, atol: 1e-7 };
      const { z, nfe } = await encode(oracle, sde, x, n, opts);
      assert.ok(nfe > 0 && nfe === oracle.nfe);
      const back = await decode(oracle, sde, z, n, opts);
      let err = 0,
        moved = 0;
      for (let i = 0; i < x.length; i++) {
        err = Math.max(err, Math.abs(back.x[i]! - x[i]!));
        moved = Math.max(moved, Math.abs(z[i]! - x[i]!));
      }
      assert.ok(err < 1e-3, `round-trip error ${err}`);
      assert.ok(moved > 0.5, "the encoding must actually move the points");
    });
  }

  it("the likelihood's latent equals the encoding, and latents look like the prior", async () => {
    const sde = vpSde(),
      oracle = mixtureOracle(DIAG, sde),
      n = 2000;
    const x = oracle.sampleData(new Rng(4), n);
    const r = await logLikelihood(oracle, sde, x.subarray(0, 80), 40, { eps: 1e-3 });
    const { z } = await encode(oracle, sde, x, n, { eps: 1e-3 });
    for (let i = 0; i < 80; i++) assert.ok(Math.abs(r.z[i]! - z[i]!) < 2e-3, `latent ${i}`);
    let mean = 0,
      sq = 0;
    for (const v of z) {
      mean += v / z.length;
      sq += (v * v) / z.length;
    }
    assert.ok(
      Math.abs(mean) < 0.05 && Math.abs(Math.sqrt(sq - mean * mean) - 1) < 0.05,
      `latent moments ${mean}, ${sq}`,
    );
  });
});

describe("dequantization and bits/dim bookkeeping", () => {
  it("bpdOffset is −log₂(scale): 8 bits for [0,1), 7 bits for [−1,1)", () => {
    assert.equal(bpdOffset(1 / 256), 8);
    assert.equal(bpdOffset(2 / 256), 7);
    assert.deepEqual(Array.from(bitsPerDim(Float64Array.of(-2 * Math.LN2 * 3), 3, 8)), [10]);
  });

  it("uniform dequantization lands in each value's bin and tracks the log-Jacobian", () => {
    const values = Uint8Array.from([0, 255, 17, 128, 3, 200]),
      n = 2,
      rng = new Rng(3);
    const { x, logJacobian } = uniformDequantize(values, n, rng, { scale: 2 / 256, shift: -1 });
    assert.ok(Math.abs(logJacobian - 3 * Math.log(2 / 256)) < 1e-12);
    values.forEach((k, i) => {
      const u = (x[i]! + 1) / (2 / 256);
      assert.ok(u >= k && u < k + 1, `value ${k} → ${u}`);
    });
    // A piecewise-constant density p_u(u) = P(⌊u⌋) makes the dequantization bound tight:
    // log p_x(x) + logJacobian must equal log P(k) exactly.
    const P = (k: number) => (k + 1) / ((256 * 257) / 2); // a normalized distribution on {0..255}
    const scale = 1 / 256;
    const one = uniformDequantize(Uint8Array.from([5, 77]), 1, rng, { scale });
    const logPx = [0, 1].reduce((acc, j) => acc + Math.log(P(Math.floor(one.x[j]! / scale)) / scale), 0);
    assert.ok(Math.abs(logPx + one.logJacobian - (Math.log(P(5)) + Math.log(P(77)))) < 1e-9);
  });

  it("rejects values that are not integers in range", () => {
    assert.throws(
      () => uniformDequantize([1, 256], 1, new Rng(1)),
      /value 256 at index 1 is not an integer in \[0, 256\)/,
    );
    assert.throws(() => uniformDequantize([1.5], 1, new Rng(1)), /value 1\.5/);
  });
});
