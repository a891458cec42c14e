/**
 * Oracle study of the replacement method for inpainting (Song et al. 2021, App. I.2): on the
 * Gaussian mixture of test/sampling.test.ts, one coordinate known, the other sampled with the exact
 * score and the replacement method, compared with the exact conditional mixture (weights, means and
 * stds of its components). Run: npx tsx bench/inpaint-oracle.ts
 */
import {
  maskConstraint,
  reconstructionGuided,
  sampleConstrained,
  sampleExactConditional,
} from "../src/controllable/index.ts";
import { conditionMixture, mixtureOracle } from "../src/oracle/index.ts";
import { compareConditional } from "../src/controllable/study.ts";
import { Rng } from "../src/rng.ts";
import { sdeByName } from "../src/sde/index.ts";
import { THREE_COMPONENTS, knownCoordinate } from "../test/helpers/mixtures.ts";

const SPEC = THREE_COMPONENTS;
const N = 4000;
const cases = [
  { known: 1, value: -1, what: "x₂ = −1 known (two components compete)" },
  { known: 0, value: 0.3, what: "x₁ = 0.3 known (correlated component)" },
  { known: 1, value: 0.6, what: "x₂ = 0.6 known (between the modes)" },
];
const runs = [
  { sde: "vp", sampler: "pc", opts: { steps: 1000 } },
  { sde: "ve", sampler: "pc", opts: { steps: 1000 } },
  { sde: "vp", sampler: "em", opts: { steps: 1000 } },
  { sde: "vp", sampler: "ode", opts: {} },
];
console.log("| case | SDE / sampler | exact weights | replacement weights | max |Δmean| | max std ratio − 1 |");
console.log("| --- | --- | --- | --- | --- | --- |");
for (const c of cases) {
  for (const r of runs) {
    const sde = sdeByName(r.sde),
      oracle = mixtureOracle(SPEC, sde);
    const { y, known } = knownCoordinate(N, c.known, c.value);
    const res = await sampleConstrained(r.sampler, oracle, sde, maskConstraint(y, known), {
      n: N,
      rng: new Rng(1),
      ...r.opts,
    });
    const cond = conditionMixture(oracle.mixture, [c.known], [c.value]);
    const exact = sampleExactConditional(oracle.mixture, y.subarray(0, 2), known.subarray(0, 2), 1, N, new Rng(2));
    const gap = compareConditional(cond.mixture, res.x, N, cond.unknown, 2);
    const gapExact = compareConditional(cond.mixture, exact, N, cond.unknown, 2);
    const fmt = (w: Float64Array | number[]) => [...w].map((v) => v.toFixed(3)).join(" / ");
    console.log(
      `| ${c.what} | ${r.sde} ${r.sampler} | ${fmt(cond.mixture.weights)} | ${fmt(gap.weights)} | ${gap.mean.toFixed(3)} | ${gap.stdRel.toFixed(3)} |`,
    );
    if (r === runs[0])
      console.log(
        `| (exact sampler, same n) | — | ${fmt(cond.mixture.weights)} | ${fmt(gapExact.weights)} | ${gapExact.mean.toFixed(3)} | ${gapExact.stdRel.toFixed(3)} |`,
      );
  }
}

// RePaint resampling (`resample` U): the same three cases, VP, EM 200 steps, n = 2000, U = 1, 5, 20.
const NR = 2000;
console.log("\n| case | EM 200 steps, resample U | exact weights | weights | max |Δmean| | max std ratio − 1 | nfe |");
console.log("| --- | --- | --- | --- | --- | --- | --- |");
for (const c of cases)
  for (const U of [1, 5, 20]) {
    const sde = sdeByName("vp"),
      oracle = mixtureOracle(SPEC, sde);
    const { y, known } = knownCoordinate(NR, c.known, c.value);
    const res = await sampleConstrained("em", oracle, sde, maskConstraint(y, known), {
      n: NR,
      rng: new Rng(1),
      steps: 200,
      resample: U,
    });
    const cond = conditionMixture(oracle.mixture, [c.known], [c.value]);
    const gap = compareConditional(cond.mixture, res.x, NR, cond.unknown, 2);
    const fmt = (w: Float64Array | number[]) => [...w].map((v) => v.toFixed(3)).join(" / ");
    console.log(
      `| ${c.what} | ${U} | ${fmt(cond.mixture.weights)} | ${fmt(gap.weights)} | ${gap.mean.toFixed(3)} | ${gap.stdRel.toFixed(3)} | ${res.nfe} |`,
    );
  }

// Reconstruction guidance (Ho et al. 2022, "snr" weighting) with the replacement method: the same
// three cases, VP, EM 200 steps, n = 2000, weights 0 (plain), 1, 3, 10, 30.
console.log(
  "\n| case | EM 200 steps, reconstruction weight w | exact weights | weights | max |Δmean| | max std ratio − 1 |",
);
console.log("| --- | --- | --- | --- | --- | --- |");
for (const c of cases)
  for (const w of [0, 1, 3, 10, 30]) {
    const sde = sdeByName("vp"),
      oracle = mixtureOracle(SPEC, sde);
    const { y, known } = knownCoordinate(NR, c.known, c.value);
    const model = reconstructionGuided(oracle, sde, y, known, { weight: w });
    const res = await sampleConstrained("em", model, sde, maskConstraint(y, known), {
      n: NR,
      rng: new Rng(1),
      steps: 200,
    });
    const cond = conditionMixture(oracle.mixture, [c.known], [c.value]);
    const gap = compareConditional(cond.mixture, res.x, NR, cond.unknown, 2);
    const fmt = (v: Float64Array | number[]) => [...v].map((q) => q.toFixed(3)).join(" / ");
    console.log(
      `| ${c.what} | ${w} | ${fmt(cond.mixture.weights)} | ${fmt(gap.weights)} | ${gap.mean.toFixed(3)} | ${gap.stdRel.toFixed(3)} |`,
    );
  }
