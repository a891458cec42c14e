/**
 * Quality against NFE on MNIST: for each sampler configuration, draw n digits from a trained run,
 * time the sampling (wall-clock, reported per 64 samples) and judge them with the MNIST classifier
 * (src/tasks/evaluate.ts: confident fraction, Fréchet distance of classifier features). Prints a
 * Markdown table and one JSON line per configuration.
 *   SCOREGEN_THREADS=1 npx tsx bench/mnist-quality.ts --score runs/mnist --classifier runs/judge \
 *       [--n 256] [--configs em:1000,ddim:10,ddim:20,heun:10,dpmpp-2m:20] [--seed 0]
 */
import { parseArgs } from "node:util";
import "../src/node.ts";
import type { AnySamplerOptions } from "../src/sampling/registry.ts";
import { Classifier } from "../src/tasks/classifier.ts";
import { sampleQuality } from "../src/tasks/evaluate.ts";
import { sampleByName } from "../src/tasks/sample.ts";
import { openImageSet, openScoreSource } from "../src/tasks/sources.ts";

const { values } = parseArgs({
  options: {
    score: { type: "string" },
    classifier: { type: "string" },
    n: { type: "string", default: "256" },
    seed: { type: "string", default: "0" },
    configs: {
      type: "string",
      default: "em:1000,ddim:10,ddim:20,ddim:50,heun:10,heun:20,heun:50,dpmpp-2m:10,dpmpp-2m:20,dpmpp-2m:50",
    },
  },
});
if (!values.score || !values.classifier) throw new Error("pass --score RUN_DIR and --classifier DIR");
const n = Number(values.n),
  seed = Number(values.seed);
const src = await openScoreSource(values.score);
const { classifier, accuracy } = await Classifier.load(values.classifier);
const heldOut = await openImageSet("mnist", { split: "test" });
console.log(
  `${n} samples per row, seed ${seed}, Tweedie final step; judge accuracy ${(100 * accuracy).toFixed(2)} %\n`,
);
console.log("| sampler | steps | nfe | confident > 0.9 | Fréchet distance | s per 64 samples |");
console.log("| --- | --- | --- | --- | --- | --- |");
const rows: string[] = [];
for (const cfg of values.configs.split(",")) {
  const [sampler, steps] = cfg.split(":") as [string, string];
  const run = await sampleByName(src.model, src.sde, sampler, {
    n,
    seed,
    options: { steps: Number(steps), denoise: "tweedie" } as AnySamplerOptions,
  });
  const q = await sampleQuality(classifier, run.x, n, "[-1,1]", heldOut);
  const perBatch = run.seconds / (n / 64);
  console.log(
    `| ${sampler} | ${steps} | ${run.nfe} | ${(100 * q.confident).toFixed(1)} % | ${q.frechet.toFixed(0)} | ${perBatch.toFixed(1)} |`,
  );
  rows.push(
    JSON.stringify({
      sampler,
      steps: Number(steps),
      nfe: run.nfe,
      confident: q.confident,
      frechet: q.frechet,
      frechetRealVsReal: q.frechetRealVsReal,
      seconds: run.seconds,
      n,
      histogram: q.histogram,
    }),
  );
}
console.log("");
for (const r of rows) console.log(r);
