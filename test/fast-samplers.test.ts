import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rng } from "../src/rng.ts";
import type { ScoreModel } from "../src/score.ts";
import {
  asScoreModel,
  logSnr,
  noiseLevel,
  scoreToOutput,
  subVpSde,
  timeOfLogSnr,
  timeOfNoiseLevel,
  veSde,
  vpSde,
  type Parameterization,
  type Sde,
} from "../src/sde/index.ts";
import { fitByComponent, fitError, mixtureOracle, type MixtureOracle } from "../src/oracle/index.ts";
import { SCHEDULE_NAMES, getSampler, parseSamplerOptions, sample, scheduleTimes } from "../src/sampling/index.ts";
import { CONVERGENCE_METHODS, errorVsNfe, observedOrder, rmsDiff } from "../src/tasks/convergence.ts";
import { THREE_COMPONENTS } from "./helpers/mixtures.ts";

const SPEC = THREE_COMPONENTS;
const SDES = (): Sde[] => [veSde(), vpSde(), subVpSde()];
const maxAbsDiff = (a: Float64Array, b: Float64Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

/**
 * Data that is a single point μ: p_t = N(a(t)μ, s(t)² I), score −(x − aμ)/s². Its probability-flow
 * ODE solution is x(t) = a(t)μ + s(t)/s(T)·(x_T − a(T)μ); x̂₀ = μ is constant along it, so DDIM,
 * DPM-Solver++ (exponential integrators) and Heun in σ (y linear in σ) are all exact.
 */
function pointMass(sde: Sde, mu: number[]): ScoreModel {
  const d = mu.length;
  const model: ScoreModel = {
    dim: d,
    nfe: 0,
    async score(x, t, n) {
      model.nfe++;
      const out = new Float64Array(x.length);
      for (let i = 0; i < n; i++) {
        const a = sde.meanCoef(t[i]!),
          s2 = sde.std(t[i]!) ** 2;
        for (let j = 0; j < d; j++) out[i * d + j] = -(x[i * d + j]! - a * mu[j]!) / s2;
      }
      return out;
    },
    async scoreVjp() {
      throw new Error("not needed");
    },
  };
  return model;
}

describe("noise level and log-SNR of an SDE", () => {
  it("σ = s/a, λ = −log σ, and their inverses recover t on every SDE", () => {
    for (const sde of SDES()) {
      for (const t of [1e-3, 0.01, 0.3, 0.77, 1]) {
        assert.ok(Math.abs(noiseLevel(sde, t) - sde.std(t) / sde.meanCoef(t)) < 1e-12 * noiseLevel(sde, t));
        assert.ok(Math.abs(logSnr(sde, t) + Math.log(noiseLevel(sde, t))) < 1e-12);
        assert.ok(Math.abs(timeOfNoiseLevel(sde, noiseLevel(sde, t)) - t) < 1e-12, `${sde.name} t=${t}`);
        assert.ok(Math.abs(timeOfLogSnr(sde, logSnr(sde, t)) - t) < 1e-12, `${sde.name} t=${t}`);
      }
    }
  });
});

describe("time schedules", () => {
  it("every schedule runs from T to eps, strictly decreasing, on every SDE", () => {
    for (const sde of SDES()) {
      for (const name of SCHEDULE_NAMES) {
        const g = scheduleTimes(name, sde, 12, 2e-3);
        assert.equal(g.length, 13);
        assert.equal(g[0], sde.T);
        assert.equal(g[12], 2e-3);
        for (let i = 1; i < g.length; i++) assert.ok(g[i]! < g[i - 1]!, `${sde.name}/${name}: not decreasing at ${i}`);
      }
    }
  });

  it("karras spaces σ^(1/ρ) equally, logsnr spaces λ equally, quadratic spaces √t equally", () => {
    const sde = vpSde(),
      N = 10,
      eps = 1e-3;
    for (const rho of [7, 3]) {
      const g = scheduleTimes("karras", sde, N, eps, { rho });
      const u = Array.from(g, (t) => noiseLevel(sde, t) ** (1 / rho));
      for (let i = 1; i < N; i++)
        assert.ok(Math.abs(u[i + 1]! - 2 * u[i]! + u[i - 1]!) < 1e-9, `karras ρ=${rho} at ${i}`);
    }
    const l = Array.from(scheduleTimes("logsnr", sde, N, eps), (t) => logSnr(sde, t));
    for (let i = 1; i < N; i++) assert.ok(Math.abs(l[i + 1]! - 2 * l[i]! + l[i - 1]!) < 1e-9);
    const q = Array.from(scheduleTimes("quadratic", sde, N, eps), Math.sqrt);
    for (let i = 1; i < N; i++) assert.ok(Math.abs(q[i + 1]! - 2 * q[i]! + q[i - 1]!) < 1e-12);
    // for VE, log σ is linear in t: the log-SNR grid is the uniform grid
    const ve = veSde();
    assert.ok(maxAbsDiff(scheduleTimes("logsnr", ve, N, 1e-5), scheduleTimes("uniform", ve, N, 1e-5)) < 1e-12);
  });

  it("rejects unknown schedules and bad ρ with messages naming them", () => {
    assert.throws(
      () => scheduleTimes("cosine", vpSde(), 10, 1e-3),
      /unknown schedule "cosine"; use one of uniform, quadratic, karras, logsnr/,
    );
    assert.throws(() => scheduleTimes("karras", vpSde(), 10, 1e-3, { rho: 0 }), /"rho" must be a positive number/);
  });

  it("every fixed-step sampler takes --schedule; a schedule changes the result, not the nfe", async () => {
    const sde = vpSde();
    for (const [name, extra, nfe] of [
      ["em", {}, 10],
      ["pc", {}, 20],
      ["ancestral", {}, 10],
      ["ddim", {}, 10],
      ["ode", { method: "heun" }, 20],
      ["dpmpp-2m", {}, 10],
      ["dpmpp-2s", {}, 20],
      ["dpmpp-2m-sde", {}, 10],
      ["heun", {}, 20],
    ] as const) {
      assert.ok(
        getSampler(name).options.some((o) => o.name === "schedule"),
        `${name} has no schedule option`,
      );
      const a = await sample(name, mixtureOracle(SPEC, sde), sde, {
        n: 8,
        rng: new Rng(1),
        steps: 10,
        ...extra,
        schedule: "uniform",
      });
      const b = await sample(name, mixtureOracle(SPEC, sde), sde, {
        n: 8,
        rng: new Rng(1),
        steps: 10,
        ...extra,
        schedule: "karras",
      });
      assert.equal(a.nfe, nfe, name);
      assert.equal(b.nfe, nfe, name);
      assert.ok(maxAbsDiff(a.x, b.x) > 1e-6, `${name}: schedule had no effect`);
    }
    assert.deepEqual(parseSamplerOptions("heun", { schedule: "logsnr", rho: "5", sChurn: "10" }), {
      schedule: "logsnr",
      rho: 5,
      sChurn: 10,
    });
    await assert.rejects(
      sample("ode", mixtureOracle(SPEC, sde), sde, { n: 2, rng: new Rng(1), schedule: "karras" }),
      /"schedule"\/"rho" set the grid of the fixed-step methods; use method "euler" or "heun"/,
    );
  });
});

describe("DPM-Solver++ and EDM Heun", () => {
  it("are exact (to round-off) when the data is a single point, on VE, VP and sub-VP", async () => {
    const mu = [0.7, -1.3];
    for (const sde of SDES()) {
      const n = 5,
        xT = sde.priorSample(new Rng(3), n, 2),
        eps = sde.eps;
      const exact = xT.map(
        (v, i) =>
          sde.meanCoef(eps) * mu[i % 2]! + (sde.std(eps) / sde.std(sde.T)) * (v - sde.meanCoef(sde.T) * mu[i % 2]!),
      );
      for (const name of ["dpmpp-2m", "dpmpp-2s", "heun", "ddim"]) {
        const r = await sample(name, pointMass(sde, mu), sde, { n, rng: new Rng(1), xT, steps: 4 });
        const err = maxAbsDiff(r.x, exact);
        assert.ok(err < 1e-9 * (1 + sde.priorStd), `${sde.name}/${name}: error ${err}`);
      }
      // Euler in t is not exact: the test can tell a wrong solver from a right one
      const euler = await sample("ode", pointMass(sde, mu), sde, { n, rng: new Rng(1), xT, steps: 4, method: "euler" });
      assert.ok(maxAbsDiff(euler.x, exact) > 1e-3, `${sde.name}: Euler should not be exact`);
    }
  });

  it("DPM-Solver++(2M)'s first step is DDIM; later steps differ", async () => {
    for (const sde of SDES()) {
      const o = () => mixtureOracle(SPEC, sde);
      const xT = sde.priorSample(new Rng(4), 16, 2);
      const common = { n: 16, rng: new Rng(1), xT, schedule: "logsnr" as const };
      const a = await sample("dpmpp-2m", o(), sde, { ...common, steps: 1 });
      const b = await sample("ddim", o(), sde, { ...common, steps: 1 });
      assert.ok(maxAbsDiff(a.x, b.x) < 1e-12, sde.name);
      const c = await sample("dpmpp-2m", o(), sde, { ...common, steps: 5 });
      const d = await sample("ddim", o(), sde, { ...common, steps: 5 });
      assert.ok(maxAbsDiff(c.x, d.x) > 1e-3, sde.name);
    }
  });

  it("give the same samples for score, ε and x₀ networks (outputs converted in one place)", async () => {
    const sde = vpSde(),
      n = 16,
      xT = sde.priorSample(new Rng(5), n, 2);
    const oracle = mixtureOracle(SPEC, sde);
    const asNetwork = (param: Parameterization) =>
      asScoreModel(
        {
          dim: 2,
          forward: async (x, t, m) => scoreToOutput(param, sde, await oracle.score(x, t, m), x, t, m),
          forwardVjp: async () => {
            throw new Error("not needed");
          },
        },
        sde,
        param,
      );
    for (const name of ["dpmpp-2m", "heun"]) {
      const ref = await sample(name, mixtureOracle(SPEC, sde), sde, { n, rng: new Rng(1), xT, steps: 8 });
      for (const param of ["eps", "x0"] as const) {
        const r = await sample(name, asNetwork(param), sde, { n, rng: new Rng(1), xT, steps: 8 });
        assert.ok(maxAbsDiff(r.x, ref.x) < 1e-9, `${name}/${param}: ${maxAbsDiff(r.x, ref.x)}`);
      }
    }
  });

  it("report nfe: 2M one per step, 2S and Heun two, +1 for a Tweedie final step", async () => {
    const sde = veSde();
    for (const [name, extra, nfe] of [
      ["dpmpp-2m", {}, 20],
      ["dpmpp-2m", { steps: 7 }, 7],
      ["dpmpp-2m", { denoise: "tweedie" }, 21],
      ["dpmpp-2s", { steps: 6 }, 12],
      ["dpmpp-2m-sde", { steps: 9 }, 9],
      ["heun", {}, 40],
      ["heun", { steps: 5, sChurn: 3 }, 10],
    ] as const) {
      const o = mixtureOracle(SPEC, sde);
      const r = await sample(name, o, sde, { n: 4, rng: new Rng(1), ...extra });
      assert.equal(r.nfe, nfe, `${name} ${JSON.stringify(extra)}`);
      assert.equal(o.nfe, nfe);
    }
  });

  it("Heun is deterministic given x_T; S_churn > 0 adds noise only inside [S_tmin, S_tmax]", async () => {
    const sde = vpSde(),
      n = 16,
      xT = sde.priorSample(new Rng(6), n, 2);
    const run = (seed: number, extra: Record<string, number> = {}) =>
      sample("heun", mixtureOracle(SPEC, sde), sde, { n, rng: new Rng(seed), xT, steps: 10, ...extra });
    const det = await run(1);
    assert.deepEqual(Array.from((await run(2)).x), Array.from(det.x));
    const churn1 = await run(1, { sChurn: 20 }),
      churn2 = await run(2, { sChurn: 20 });
    assert.ok(maxAbsDiff(churn1.x, churn2.x) > 1e-3, "churn must use the random stream");
    assert.ok(maxAbsDiff(churn1.x, det.x) > 1e-3);
    // a window above σ(T) never churns: Alg. 2 reduces to Alg. 1
    const outside = await run(1, { sChurn: 20, sTmin: 1e6, sTmax: 1e7 });
    assert.deepEqual(Array.from(outside.x), Array.from(det.x));
    await assert.rejects(run(1, { sChurn: -1 }), /"sChurn" must be a non-negative number/);
    await assert.rejects(run(1, { sTmin: 2, sTmax: 1 }), /"sTmax" must be ≥ sTmin/);
  });
});

/** The acceptance bounds the 1000-step PC sampler meets (test/sampling.test.ts). */
const STRICT = { weight: 0.03, mean: 0.1, stdRel: 0.12 };

function checkMixture(oracle: MixtureOracle, x: Float64Array, n: number, what: string): void {
  assert.ok(x.every(Number.isFinite), `${what}: non-finite samples`);
  const err = fitError(oracle.mixture, fitByComponent(oracle.mixture, x, n));
  assert.ok(
    err.weight <= STRICT.weight && err.mean <= STRICT.mean && err.stdRel <= STRICT.stdRel,
    `${what}: ${JSON.stringify(err)} exceeds ${JSON.stringify(STRICT)}`,
  );
}

describe("acceptance: 20 steps reproduce a Gaussian mixture with its exact score (n = 4000)", () => {
  for (const sde of SDES()) {
    it(`dpmpp-2m --steps 20 (nfe 20) and heun --steps 20 (nfe 40), ${sde.name}`, async () => {
      const n = 4000;
      for (const [name, nfe] of [
        ["dpmpp-2m", 20],
        ["heun", 40],
      ] as const) {
        const oracle = mixtureOracle(SPEC, sde);
        const r = await sample(name, oracle, sde, { n, rng: new Rng(1), steps: 20 });
        assert.equal(r.nfe, nfe);
        checkMixture(oracle, r.x, n, `${name}/${sde.name}`);
      }
    });
  }

  it("the 20-step stochastic variants stay within the bounds too (SDE-DPM-Solver++(2M) at 50 steps), VP", async () => {
    const sde = vpSde(),
      n = 4000;
    for (const [name, extra] of [
      ["heun", { sChurn: 5 }],
      ["dpmpp-2m-sde", { steps: 50 }],
    ] as const) {
      const oracle = mixtureOracle(SPEC, sde);
      const r = await sample(name, oracle, sde, { n, rng: new Rng(1), steps: 20, ...extra });
      checkMixture(oracle, r.x, n, `${name}/${sde.name}`);
    }
  });
});

describe("error against NFE: observed orders against the RK45 reference (rtol = atol = 1e-9)", () => {
  it("RMS difference and the order fit are right on synthetic data", () => {
    assert.equal(rmsDiff(Float64Array.of(1, 2), Float64Array.of(1, 0)), Math.SQRT2);
    const pts = [10, 20, 40].map((nfe) => ({ nfe, error: 3 * nfe ** -1.5 }));
    assert.ok(Math.abs(observedOrder(pts) - 1.5) < 1e-12);
  });

  for (const sde of [vpSde(), veSde()]) {
    it(`Euler ≈ 1, DDIM ≈ 1, Heun (EDM) ≈ 2, DPM-Solver++(2M) ≈ 2, ${sde.name}`, async () => {
      const methods = CONVERGENCE_METHODS.filter((m) => !m.adaptive);
      const expected: Record<string, [number, number, number[]]> = {
        // Euler in t on VE's geometric σ(t) only reaches its asymptotic regime after a few hundred steps
        "Euler (PF-ODE)": [0.85, 1.2, [320, 640, 1280, 2560]],
        DDIM: [0.9, 1.15, [40, 80, 160, 320]],
        "Heun (EDM)": [1.8, 2.3, [20, 40, 80, 160]],
        "DPM-Solver++(2M)": [1.75, 2.3, [40, 80, 160, 320]],
      };
      for (const m of methods) {
        const [lo, hi, steps] = expected[m.label]!;
        const { series } = await errorVsNfe(sde, { spec: SPEC, n: 16, steps, methods: [m] });
        const order = series[0]!.order;
        assert.ok(
          order >= lo && order <= hi,
          `${sde.name}/${m.label}: observed order ${order.toFixed(3)} outside [${lo}, ${hi}] (${JSON.stringify(series[0]!.points)})`,
        );
      }
    });
  }
});
