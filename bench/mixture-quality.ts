/**
 * Sample quality on a Gaussian mixture with its exact score at 10/20/50 steps: worst-component
 * weight, mean and relative-std errors (src/oracle/stats.ts) of n = 4000 samples, for each SDE, next
 * to the 1000-step PC reference. Prints a Markdown table.
 *   npx tsx bench/mixture-quality.ts [--n 4000] [--seed 1]
 */
import { parseArgs } from "node:util";
import { fitByComponent, fitError, mixtureOracle } from "../src/oracle/index.ts";
import { Rng } from "../src/rng.ts";
import { sample } from "../src/sampling/index.ts";
import { SDE_NAMES, sdeByName } from "../src/sde/index.ts";
import { THREE_COMPONENTS } from "../test/helpers/mixtures.ts";

const SPEC = THREE_COMPONENTS;
const { values } = parseArgs({
  options: { n: { type: "string", default: "4000" }, seed: { type: "string", default: "1" } },
});
const n = Number(values.n),
  seed = Number(values.seed);
const fmt = (e: { weight: number; mean: number; stdRel: number }) =>
  `${e.weight.toFixed(3)} / ${e.mean.toFixed(3)} / ${(100 * e.stdRel).toFixed(1)} %`;

console.log(`weight / mean / std errors (bounds 0.03 / 0.1 / 12 %), n = ${n}, seed ${seed}; nfe in parentheses\n`);
console.log(`| sampler | steps | ${SDE_NAMES.join(" | ")} |`);
console.log(`| --- | --- | ${SDE_NAMES.map(() => "---").join(" | ")} |`);
const rows: [string, number, Record<string, unknown>][] = [["pc", 1000, {}]];
for (const name of ["ddim", "heun", "dpmpp-2m", "dpmpp-2s"])
  for (const steps of [10, 20, 50]) rows.push([name, steps, {}]);
for (const [name, steps, extra] of rows) {
  const cells: string[] = [];
  for (const sdeName of SDE_NAMES) {
    const sde = sdeByName(sdeName),
      oracle = mixtureOracle(SPEC, sde);
    const r = await sample(name, oracle, sde, { n, rng: new Rng(seed), steps, ...extra });
    const e = fitError(oracle.mixture, fitByComponent(oracle.mixture, r.x, n));
    const ok = e.weight <= 0.03 && e.mean <= 0.1 && e.stdRel <= 0.12;
    cells.push(`${fmt(e)} (${r.nfe})${ok ? "" : " ✗"}`);
  }
  console.log(`| ${name} | ${steps} | ${cells.join(" | ")} |`);
}
