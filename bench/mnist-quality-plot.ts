/**
 * Plots the JSON lines printed by bench/mnist-quality.ts: the judge's confident fraction and the
 * Fréchet distance against the number of score evaluations (log NFE), one line per sampler, with
 * the row with the most evaluations (the Euler–Maruyama reference) drawn as a flat line across the plot.
 *   npx tsx bench/mnist-quality-plot.ts --log quality.log --out docs/mnist-quality
 * writes OUT-frechet.png and OUT-confident.png.
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { writeFileAtomic } from "../src/io/files.ts";
import { type LineSeries, linePlot } from "../src/viz/index.ts";

const { values } = parseArgs({
  options: { log: { type: "string" }, out: { type: "string", default: "docs/mnist-quality" } },
});
if (!values.log) throw new Error("pass --log FILE (the output of bench/mnist-quality.ts)");

interface Row {
  sampler: string;
  steps: number;
  nfe: number;
  confident: number;
  frechet: number;
}
const rows: Row[] = (await readFile(values.log, "utf8"))
  .split("\n")
  .filter((l) => l.startsWith("{"))
  .map((l) => JSON.parse(l) as Row);
if (!rows.length) throw new Error(`${values.log} holds no JSON rows of bench/mnist-quality.ts`);

const nfes = rows.map((r) => r.nfe);
const [lo, hi] = [Math.min(...nfes), Math.max(...nfes)];
/** The reference: the row with the most score evaluations (EM-1000 in the README's table). */
const reference = rows.reduce((a, b) => (b.nfe > a.nfe ? b : a));
/** One series per sampler (a single setting is a single dot); the reference is a flat line across the plot. */
function series(metric: (r: Row) => number): LineSeries[] {
  const by = new Map<string, Row[]>();
  for (const r of rows) if (r !== reference) by.set(r.sampler, [...(by.get(r.sampler) ?? []), r]);
  const ref = metric(reference);
  return [
    { label: `${reference.sampler} ${reference.steps} steps (reference)`, x: [lo, hi], y: [ref, ref] },
    ...[...by.entries()].map(([name, rs]) => {
      rs.sort((a, b) => a.nfe - b.nfe);
      return { label: name, x: rs.map((r) => r.nfe), y: rs.map(metric) };
    }),
  ];
}
const common = { width: 720, height: 480, logX: true, xLabel: "score evaluations (NFE)" };
await writeFileAtomic(
  `${values.out}-frechet.png`,
  linePlot(
    series((r) => r.frechet),
    {
      ...common,
      logY: true,
      yLabel: "Fréchet distance",
      title: "MNIST: Fréchet distance of the judge's features",
    },
  ),
);
await writeFileAtomic(
  `${values.out}-confident.png`,
  linePlot(
    series((r) => 100 * r.confident),
    {
      ...common,
      yLabel: "% judged with confidence > 0.9",
      title: "MNIST: confidently classified samples",
    },
  ),
);
console.log(`wrote ${values.out}-frechet.png and ${values.out}-confident.png`);
