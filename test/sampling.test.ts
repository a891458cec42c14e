import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rng } from "../src/rng.ts";
import { subVpSde, veSde, vpSde, type Sde } from "../src/sde/index.ts";
import { fitByComponent, fitError, mixtureOracle, type FitError, type MixtureOracle } from "../src/oracle/index.ts";
import {
  aldSampler,
  ancestralSampler,
  ddimSampler,
  eulerMaruyamaSampler,
  getSampler,
  odeSampler,
  parseSamplerOptions,
  pcSampler,
  sample,
  solveOde,
  SAMPLER_NAMES,
  type CommonSampleOptions,
  type StepInfo,
} from "../src/sampling/index.ts";
import { THREE_COMPONENTS } from "./helpers/mixtures.ts";

const SPEC = THREE_COMPONENTS;
const N = 4000;
/** The acceptance thresholds: weights ±0.03, means ±0.1, stds within 12 %. */
const STRICT = { weight: 0.03, mean: 0.1, stdRel: 0.12 };

function check(oracle: MixtureOracle, x: Float64Array, n: number, tol: FitError, what: string): FitError {
  assert.equal(x.length, n * 2, `${what}: output shape`);
  assert.ok(x.every(Number.isFinite), `${what}: non-finite samples`);
  const err = fitError(oracle.mixture, fitByComponent(oracle.mixture, x, n));
  const msg = `${what}: ${JSON.stringify(err)} exceeds ${JSON.stringify(tol)}`;
  assert.ok(err.weight <= tol.weight && err.mean <= tol.mean && err.stdRel <= tol.stdRel, msg);
  return err;
}

async function run(name: string, sde: Sde, extra: Record<string, unknown> = {}, seed = 1) {
  const oracle = mixtureOracle(SPEC, sde);
  const r = await sample(name, oracle, sde, { n: N, rng: new Rng(seed), ...extra });
  assert.equal(r.nfe, oracle.nfe, `${name}: reported nfe equals the model's count`);
  return { oracle, ...r };
}

describe("samplers reproduce a Gaussian mixture with the oracle score (n = 4000)", () => {
  it("PC: reverse diffusion + Langevin (1000 steps, snr 0.16), VE", async () => {
    const { oracle, x, nfe } = await run("pc", veSde(), {
      predictor: "reverse-diffusion",
      corrector: "langevin",
      snr: 0.16,
      steps: 1000,
    });
    assert.equal(nfe, 2000);
    check(oracle, x, N, STRICT, "PC/VE");
  });

  it("PC: reverse diffusion + Langevin (1000 steps, snr 0.16), sub-VP", async () => {
    const { oracle, x } = await run("pc", subVpSde(), { steps: 1000 });
    check(oracle, x, N, STRICT, "PC/sub-VP");
  });

  it("probability-flow ODE (RK45), VP and VE", async () => {
    for (const sde of [vpSde(), veSde()]) {
      const { oracle, x, nfe } = await run("ode", sde, { rtol: 1e-5, atol: 1e-5 });
      assert.ok(nfe > 20 && nfe < 1000, `RK45 nfe ${nfe}`);
      check(oracle, x, N, STRICT, `ODE/${sde.name}`);
    }
  });

  it("Euler–Maruyama (1000 steps), VP", async () => {
    const { oracle, x, nfe } = await run("em", vpSde());
    assert.equal(nfe, 1000);
    check(oracle, x, N, STRICT, "EM/VP");
  });

  it("ancestral sampling: DDPM (VP) and SMLD (VE)", async () => {
    for (const sde of [vpSde(), veSde()]) {
      const { oracle, x, nfe } = await run("ancestral", sde);
      assert.equal(nfe, 1000);
      check(oracle, x, N, STRICT, `ancestral/${sde.name}`);
    }
  });

  it("DDIM on VP: η = 0 (100 steps) and η = 1", async () => {
    // 100 deterministic steps carry an O(h) discretization bias; it stays inside the strict bounds here.
    for (const eta of [0, 1]) {
      const { oracle, x, nfe } = await run("ddim", vpSde(), { eta, steps: 100 });
      assert.equal(nfe, 100);
      check(oracle, x, N, STRICT, `DDIM η=${eta}`);
    }
  });

  it("annealed Langevin dynamics (NCSN, VE): plausible, with a looser std bound", async () => {
    // ALD only approximately equilibrates at each level (10 iterations, step ε·σ_i²/σ_L²), and
    // the last level samples p_eps rather than p_0: the spread is biased slightly upward.
    const { oracle, x, nfe } = await run("ald", veSde(), { steps: 100, correctorSteps: 10 });
    assert.equal(nfe, 1000);
    const err = check(oracle, x, N, { weight: 0.04, mean: 0.1, stdRel: 0.2 }, "ALD/VE");
    assert.ok(err.stdRel < 0.2);
  });
});

describe("sampler mechanics", () => {
  const small = (sde: Sde): MixtureOracle => mixtureOracle(SPEC, sde);

  it("same seed ⇒ identical samples; different seed ⇒ different samples (every sampler)", async () => {
    for (const name of SAMPLER_NAMES) {
      const sde = vpSde(),
        o = small(sde);
      const opts = (seed: number): CommonSampleOptions & Record<string, unknown> => ({
        n: 16,
        rng: new Rng(seed),
        steps: 20,
        ...(name === "ald" ? { correctorSteps: 2 } : {}),
      });
      const a = await sample(name, o, sde, opts(5));
      const b = await sample(name, o, sde, opts(5));
      const c = await sample(name, o, sde, opts(6));
      assert.deepEqual(Array.from(a.x), Array.from(b.x), `${name}: not reproducible`);
      assert.notDeepEqual(Array.from(a.x), Array.from(c.x), `${name}: seed has no effect`);
    }
  });

  it("reports nfe for each sampler and option", async () => {
    const sde = veSde();
    const cases: [string, Record<string, unknown>, number][] = [
      ["pc", { steps: 30 }, 60],
      ["pc", { steps: 30, correctorSteps: 3 }, 120],
      ["pc", { steps: 30, corrector: "none" }, 30],
      ["pc", { steps: 30, predictor: "none" }, 30],
      ["em", { steps: 25 }, 25],
      ["em", { steps: 25, denoise: "tweedie" }, 26],
      ["em", { steps: 25, denoise: "mean" }, 25],
      ["ald", { steps: 7, correctorSteps: 4 }, 28],
      ["ode", { method: "euler", steps: 40 }, 40],
      ["ode", { method: "heun", steps: 40 }, 80],
      ["ddim", { steps: 12 }, 12],
    ];
    for (const [name, extra, expected] of cases) {
      const o = small(sde);
      const r = await sample(name, o, sde, { n: 8, rng: new Rng(1), ...extra });
      assert.equal(r.nfe, expected, `${name} ${JSON.stringify(extra)}`);
      assert.equal(o.nfe, expected);
    }
  });

  it("calls onStep once per step with decreasing times ending at eps", async () => {
    for (const [name, steps] of [
      ["pc", 15],
      ["ddim", 10],
      ["ode", 9],
      ["ald", 6],
      ["dpmpp-2m", 7],
      ["heun", 5],
    ] as const) {
      const sde = vpSde(),
        infos: StepInfo[] = [];
      await sample(name, small(sde), sde, {
        n: 4,
        rng: new Rng(2),
        steps,
        eps: 1e-3,
        method: "heun",
        correctorSteps: 1,
        onStep: (i) => infos.push({ ...i, x: Float64Array.from(i.x) }),
      });
      assert.equal(infos.length, steps, name);
      infos.forEach((info, k) => {
        assert.equal(info.step, k);
        assert.equal(info.total, steps);
      });
      for (let k = 1; k < infos.length; k++)
        assert.ok(infos[k]!.t <= infos[k - 1]!.t, `${name}: time must not increase`);
      assert.ok(Math.abs(infos[infos.length - 1]!.t - 1e-3) < 1e-12, `${name} ends at eps`);
      assert.notDeepEqual(Array.from(infos[0]!.x), Array.from(infos[infos.length - 1]!.x));
    }
    const infos: StepInfo[] = [];
    const sde = vpSde();
    await odeSampler(small(sde), sde, { n: 4, rng: new Rng(2), onStep: (i) => infos.push(i) });
    assert.ok(
      infos.length > 3 && infos.every((i) => i.total === undefined),
      "adaptive RK45 reports accepted steps without a total",
    );
  });

  it("DDIM with η = 1 is the ancestral step with the posterior variance", async () => {
    for (const sde of [vpSde(), veSde()]) {
      const a = await ddimSampler(small(sde), sde, { n: 64, rng: new Rng(4), steps: 50, eta: 1 });
      const b = await ancestralSampler(small(sde), sde, { n: 64, rng: new Rng(4), steps: 50, variance: "posterior" });
      const c = await ancestralSampler(small(sde), sde, { n: 64, rng: new Rng(4), steps: 50, variance: "beta" });
      let maxDiff = 0,
        maxDiffBeta = 0;
      for (let i = 0; i < a.x.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(a.x[i]! - b.x[i]!));
        maxDiffBeta = Math.max(maxDiffBeta, Math.abs(a.x[i]! - c.x[i]!));
      }
      assert.ok(maxDiff < 1e-8, `${sde.name}: DDIM(η=1) vs ancestral differ by ${maxDiff}`);
      assert.ok(maxDiffBeta > 1e-3, `${sde.name}: the β variance must differ from the posterior one`);
    }
  });

  it("DDIM with η = 0 is deterministic given x_T and close to the probability-flow ODE", async () => {
    const sde = vpSde(),
      n = 32;
    const xT = sde.priorSample(new Rng(9), n, 2);
    const a = await ddimSampler(small(sde), sde, { n, rng: new Rng(1), xT, steps: 200 });
    const b = await ddimSampler(small(sde), sde, { n, rng: new Rng(2), xT, steps: 200 });
    const ode = await odeSampler(small(sde), sde, { n, rng: new Rng(3), xT, rtol: 1e-7, atol: 1e-7 });
    assert.deepEqual(Array.from(a.x), Array.from(b.x));
    let err = 0;
    for (let i = 0; i < a.x.length; i++) err = Math.max(err, Math.abs(a.x[i]! - ode.x[i]!));
    assert.ok(err < 0.05, `DDIM vs ODE: ${err}`);
  });

  it("Euler–Maruyama sampler is the PC loop with predictor euler-maruyama and no corrector", async () => {
    const sde = subVpSde();
    const a = await eulerMaruyamaSampler(small(sde), sde, { n: 10, rng: new Rng(3), steps: 40 });
    const b = await pcSampler(small(sde), sde, {
      n: 10,
      rng: new Rng(3),
      steps: 40,
      predictor: "euler-maruyama",
      corrector: "none",
    });
    const c = await pcSampler(small(sde), sde, {
      n: 10,
      rng: new Rng(3),
      steps: 40,
      predictor: "reverse-diffusion",
      corrector: "none",
    });
    assert.deepEqual(Array.from(a.x), Array.from(b.x));
    assert.notDeepEqual(Array.from(a.x), Array.from(c.x));
  });

  it("denoising: 'mean' drops the last noise, 'tweedie' applies E[x0|x_eps]", async () => {
    const sde = veSde(),
      n = 200,
      eps = 0.05; // a large eps makes the final noise visible
    const none = await eulerMaruyamaSampler(small(sde), sde, { n, rng: new Rng(6), steps: 200, eps });
    const mean = await eulerMaruyamaSampler(small(sde), sde, { n, rng: new Rng(6), steps: 200, eps, denoise: "mean" });
    const o = small(sde);
    const tw = await eulerMaruyamaSampler(o, sde, { n, rng: new Rng(6), steps: 200, eps, denoise: "tweedie" });
    // the last EM step adds g(t)·√Δt·z: the gap between "none" and "mean" has exactly that scale
    const noiseStd = sde.diffusion(eps + (1 - eps) / 200) * Math.sqrt((1 - eps) / 200);
    let sq = 0;
    for (let i = 0; i < none.x.length; i++) sq += (none.x[i]! - mean.x[i]!) ** 2;
    const rms = Math.sqrt(sq / none.x.length);
    assert.ok(Math.abs(rms / noiseStd - 1) < 0.15, `last-step noise rms ${rms} vs ${noiseStd}`);
    const score = await o.score(none.x, new Float64Array(n).fill(eps), n);
    const s2 = sde.std(eps) ** 2;
    for (let i = 0; i < tw.x.length; i++) assert.ok(Math.abs(tw.x[i]! - (none.x[i]! + s2 * score[i]!)) < 1e-12);
  });

  it("starts from a given x_T", async () => {
    const sde = vpSde(),
      xT = new Float64Array(8).fill(0.25);
    const infos: number[] = [];
    await ddimSampler(small(sde), sde, { n: 4, rng: new Rng(1), xT, steps: 3, onStep: () => infos.push(1) });
    const a = await odeSampler(small(sde), sde, { n: 4, rng: new Rng(1), xT, method: "euler", steps: 1 });
    // one Euler step from x_T: x = x_T − (1 − eps)·(c x_T − ½g² s(x_T, 1))
    const o = small(sde),
      s = await o.score(xT, new Float64Array(4).fill(1), 4);
    const h = 1 - sde.eps,
      c = sde.driftCoef(1),
      g2 = sde.diffusion(1) ** 2;
    for (let i = 0; i < 8; i++) assert.ok(Math.abs(a.x[i]! - (xT[i]! - h * (c * xT[i]! - 0.5 * g2 * s[i]!))) < 1e-12);
    assert.equal(xT[0], 0.25, "x_T is not modified");
  });

  it("rejects bad options with messages naming the option", async () => {
    const sde = vpSde(),
      o = small(sde),
      rng = new Rng(1);
    await assert.rejects(pcSampler(o, sde, { n: 0, rng }), /"n" must be a positive integer/);
    await assert.rejects(pcSampler(o, sde, { n: 2, rng, steps: 2.5 }), /"steps" must be a positive integer/);
    await assert.rejects(eulerMaruyamaSampler(o, sde, { n: 2, rng, eps: 1.5 }), /"eps" must lie in \(0, T=1\)/);
    await assert.rejects(odeSampler(o, sde, { n: 2, rng, xT: new Float64Array(3) }), /"xT" has length 3 but n·dim = 4/);
    await assert.rejects(pcSampler(o, sde, { n: 2, rng, predictor: "heun" as never }), /unknown predictor "heun"/);
    await assert.rejects(pcSampler(o, sde, { n: 2, rng, corrector: "hmc" as never }), /unknown corrector "hmc"/);
    await assert.rejects(odeSampler(o, sde, { n: 2, rng, method: "rk4" as never }), /unknown method "rk4"/);
    await assert.rejects(aldSampler(o, subVpSde(), { n: 2, rng, steps: 3 }), /"stepLr" ε=0\.00002 is unstable/);
    await assert.rejects(pcSampler(o, sde, { n: 2, rng, snr: -1 }), /"snr" must be > 0/);
    await assert.rejects(ddimSampler(o, sde, { n: 2, rng, eta: -0.5 }), /"eta" must be ≥ 0/);
    // a diverging run is stopped with a message, not returned as NaN samples
    await assert.rejects(
      pcSampler(o, veSde(), { n: 2, rng, steps: 50, snr: 1e200 }),
      /PC sampler: samples became non-finite .* at step \d+/,
    );
    const nanModel = {
      ...o,
      dim: 2,
      nfe: 0,
      score: async () => new Float64Array(4).fill(NaN),
      scoreVjp: o.scoreVjp.bind(o),
    };
    await assert.rejects(odeSampler(nanModel, sde, { n: 2, rng }), /ODE solver: the state became NaN/);
  });
});

describe("sampler registry", () => {
  it("selects samplers by name and lists the valid ones on error", () => {
    assert.deepEqual(
      [...SAMPLER_NAMES],
      ["em", "pc", "ald", "ancestral", "ode", "ddim", "dpmpp-2m", "dpmpp-2s", "dpmpp-2m-sde", "heun"],
    );
    for (const name of SAMPLER_NAMES) assert.equal(getSampler(name).name, name);
    assert.throws(
      () => getSampler("euler"),
      /unknown sampler "euler"; use one of em, pc, ald, ancestral, ode, ddim, dpmpp-2m, dpmpp-2s, dpmpp-2m-sde, heun/,
    );
  });

  it("parses textual options with types and rejects unknown or malformed ones", () => {
    assert.deepEqual(parseSamplerOptions("pc", { snr: "0.2", steps: "500", corrector: "none" }), {
      snr: 0.2,
      steps: 500,
      corrector: "none",
    });
    assert.deepEqual(parseSamplerOptions("ode", { method: "heun", rtol: "1e-4" }), { method: "heun", rtol: 1e-4 });
    assert.throws(
      () => parseSamplerOptions("ode", { snr: "0.1" }),
      /sampler "ode" has no option "snr"; its options are: steps, eps, denoise, method, rtol, atol, schedule, rho/,
    );
    assert.throws(() => parseSamplerOptions("pc", { steps: "12.5" }), /"steps" must be an integer/);
    assert.throws(() => parseSamplerOptions("pc", { snr: "abc" }), /"snr" must be a number/);
    assert.throws(
      () => parseSamplerOptions("ancestral", { variance: "big" }),
      /"variance" must be one of beta, posterior/,
    );
  });
});

describe("ODE solver", () => {
  const expDecay = async (_t: number, y: Float64Array) => y.map((v) => -v);
  const rotation = async (_t: number, y: Float64Array) => Float64Array.of(-y[1]!, y[0]!);

  it("RK45 meets its tolerance in both directions and reports nfe", async () => {
    for (const [t0, t1] of [
      [0, 3],
      [3, 0.5],
    ] as const) {
      for (const tol of [1e-4, 1e-8]) {
        const r = await solveOde(rotation, Float64Array.of(1, 0), t0, t1, { rtol: tol, atol: tol });
        const exact = [Math.cos(t1 - t0), Math.sin(t1 - t0)];
        const err = Math.hypot(r.y[0]! - exact[0]!, r.y[1]! - exact[1]!);
        assert.ok(err < 50 * tol, `tol ${tol}: error ${err}`);
        assert.ok(err > 1e-15, "a nonzero error shows the solver is really approximating");
        assert.equal(r.nfe, 2 + 6 * (r.steps + r.rejected), "FSAL: 6 evaluations per attempted step, plus 2 to start");
      }
    }
    const loose = await solveOde(expDecay, Float64Array.of(1), 0, 5, { rtol: 1e-3, atol: 1e-3 });
    const tight = await solveOde(expDecay, Float64Array.of(1), 0, 5, { rtol: 1e-9, atol: 1e-9 });
    assert.ok(tight.steps > 3 * loose.steps, "tighter tolerance takes more steps");
  });

  it("Euler is first order and Heun second order", async () => {
    const err = async (method: "euler" | "heun", steps: number) =>
      Math.abs((await solveOde(expDecay, Float64Array.of(1), 0, 1, { method, steps })).y[0]! - Math.exp(-1));
    const eulerRatio = (await err("euler", 50)) / (await err("euler", 100));
    const heunRatio = (await err("heun", 50)) / (await err("heun", 100));
    assert.ok(Math.abs(eulerRatio - 2) < 0.1, `Euler ratio ${eulerRatio}`);
    assert.ok(Math.abs(heunRatio - 4) < 0.2, `Heun ratio ${heunRatio}`);
  });

  it("gives up clearly when the step budget is exhausted", async () => {
    await assert.rejects(
      solveOde(rotation, Float64Array.of(1, 0), 0, 100, { rtol: 1e-10, atol: 1e-10, maxSteps: 20 }),
      /more than maxSteps=20/,
    );
  });
});
