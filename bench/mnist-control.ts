/**
 * MNIST measurements of controllable generation, judged by the project's MNIST classifier:
 *   guidance  RUN CLF JUDGE SCALE N_PER_CLASS STEPS OUT.png   class guidance (SCALE 0 = unguided)
 *   inpaint   RUN JUDGE N STEPS OUT.png                        held-out digits from their top half
 *             (env RESAMPLE=U RePaint resampling, RECON=W reconstruction guidance, OFFSET=i first digit)
 * Run: SCOREGEN_THREADS=1 SAMPLER=ddim [RESAMPLE=U] npx tsx bench/mnist-control.ts guidance runs/mnist runs/clf-t runs/judge 2 10 50 docs/x.png
 * Prints one JSON line of figures.
 */
import "../src/node.ts";
import {
  classifierGuided,
  maskConstraint,
  namedMask,
  repeatRows,
  sampleConstrained,
} from "../src/controllable/index.ts";
import { reconstructionGuided } from "../src/controllable/reconstruction.ts";
import { writeFileAtomic } from "../src/io/files.ts";
import { Rng } from "../src/rng.ts";
import { sample } from "../src/sampling/index.ts";
import { Classifier, argmax, loadNoisyClassifier } from "../src/tasks/classifier.ts";
import { sampleQuality } from "../src/tasks/evaluate.ts";
import { openImageSet, openScoreSource } from "../src/tasks/sources.ts";
import { imageGrid } from "../src/viz/index.ts";

const [cmd, ...args] = process.argv.slice(2);
/** The sampler (SAMPLER=ddim by default; em, pc, … work too). */
const SAMPLER = process.env.SAMPLER ?? "ddim";
/** Inpainting: RePaint resampling count U (RESAMPLE=1 by default: the plain replacement method). */
const RESAMPLE = Number(process.env.RESAMPLE ?? "1");
/** Inpainting: reconstruction-guidance weight, "snr" weighting (RECON=0 by default: off). */
const RECON = Number(process.env.RECON ?? "0");
/** Inpainting: index of the first held-out digit used (OFFSET=0 by default). */
const OFFSET = Number(process.env.OFFSET ?? "0");
const grid = (x: Float64Array, cols: number, title: string) =>
  imageGrid(x, { channels: 1, height: 28, width: 28, cols, range: [-1, 1], title });

async function judged(judge: Classifier, x: Float64Array, n: number, labels: Int32Array) {
  const { probs } = await judge.classify(x, n);
  const perClass = Array.from({ length: 10 }, () => ({ n: 0, hit: 0 }));
  for (let i = 0; i < n; i++) {
    const c = perClass[labels[i]!]!;
    c.n++;
    if (argmax(probs, i) === labels[i]) c.hit++;
  }
  return {
    overall: perClass.reduce((s, c) => s + c.hit, 0) / n,
    perClass: perClass.map((c) => (c.n ? c.hit / c.n : NaN)),
  };
}

if (cmd === "guidance") {
  const [run, clfDir, judgeDir, scaleS, perS, stepsS, out] = args as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const scale = Number(scaleS),
    per = Number(perS),
    steps = Number(stepsS),
    n = 10 * per;
  const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
  const src = await openScoreSource(run);
  const { classifier } = await loadNoisyClassifier(clfDir);
  const { classifier: judge } = await Classifier.load(judgeDir);
  const model = scale === 0 ? src.model : classifierGuided(src.model, classifier, labels, scale);
  const t0 = performance.now();
  const r = await sample(SAMPLER, model, src.sde, { n, rng: new Rng(1), steps, denoise: "tweedie" });
  const seconds = (performance.now() - t0) / 1000;
  const q = await sampleQuality(judge, r.x, n, "[-1,1]", await openImageSet("mnist", { split: "test" }));
  const j = await judged(judge, r.x, n, labels);
  // rows: one class per row (the first 10 samples of each class)
  const rows = Math.min(per, 10),
    pick = new Float64Array(100 * 784);
  for (let k = 0; k < 10; k++)
    for (let c = 0; c < rows; c++)
      pick.set(r.x.subarray((c * 10 + k) * 784, (c * 10 + k + 1) * 784), (k * 10 + c) * 784);
  await writeFileAtomic(
    out,
    grid(
      pick.subarray(0, 10 * rows * 784),
      rows,
      scale === 0 ? `unguided (${SAMPLER}, ${steps} steps)` : `classifier guidance, scale ${scale}: row k = class k`,
    ),
  );
  console.log(
    JSON.stringify({
      cmd,
      sampler: SAMPLER,
      scale,
      n,
      steps,
      seconds: Math.round(seconds),
      fractionJudgedK: j.perClass.map((v) => Math.round(1000 * v) / 1000),
      overall: j.overall,
      frechet: q.frechet,
      frechetRealVsReal: q.frechetRealVsReal,
      histogram: q.histogram,
    }),
  );
} else if (cmd === "inpaint") {
  const [run, judgeDir, nS, stepsS, out] = args as [string, string, string, string, string];
  const n = Number(nS),
    steps = Number(stepsS);
  const src = await openScoreSource(run);
  const { classifier: judge } = await Classifier.load(judgeDir);
  const held = await openImageSet("mnist", { split: "test" });
  const y = Float64Array.from(held.data.subarray(OFFSET * 784, (OFFSET + n) * 784)),
    labels = held.labels!.subarray(OFFSET, OFFSET + n);
  const known = repeatRows(namedMask("top-half", 1, 28, 28), 1, n);
  const t0 = performance.now();
  const model = RECON > 0 ? reconstructionGuided(src.model, src.sde, y, known, { weight: RECON }) : src.model;
  const r = await sampleConstrained(SAMPLER, model, src.sde, maskConstraint(y, known), {
    n,
    rng: new Rng(2),
    steps,
    resample: RESAMPLE,
    denoise: "tweedie",
  });
  const seconds = (performance.now() - t0) / 1000;
  const j = await judged(judge, r.x, n, Int32Array.from(labels));
  const jTop = await judged(
    judge,
    y.map((v, i) => (known[i] ? v : -1)),
    n,
    Int32Array.from(labels),
  );
  const m = Math.min(n, 12),
    tiles: Float64Array[] = [];
  for (let i = 0; i < m; i++) {
    const yi = y.subarray(i * 784, (i + 1) * 784);
    tiles.push(
      yi.map((v, q) => (known[q] ? v : NaN)),
      r.x.slice(i * 784, (i + 1) * 784),
      Float64Array.from(yi),
    );
  }
  await writeFileAtomic(
    out,
    grid(Float64Array.from(tiles.flatMap((t) => [...t])), 6, "top half known: input, completion, original"),
  );
  console.log(
    JSON.stringify({
      cmd,
      sampler: SAMPLER,
      resample: RESAMPLE,
      recon: RECON,
      offset: OFFSET,
      n,
      steps,
      seconds: Math.round(seconds),
      fractionJudgedOriginal: j.overall,
      perClass: j.perClass.map((v) => Math.round(1000 * v) / 1000),
      topHalfOnlyJudged: jTop.overall,
    }),
  );
} else {
  console.error(
    "usage: mnist-control.ts guidance RUN CLF JUDGE SCALE N_PER_CLASS STEPS OUT.png | inpaint RUN JUDGE N STEPS OUT.png",
  );
  process.exit(1);
}
