/** `scoregen classifier` (train the judge) and `scoregen evaluate` (sample quality of generated digits). */
import type { Command } from "commander";
import type { PixelRange } from "../data/images.ts";
import { readPointsFile } from "../data/points.ts";
import { checkpointKind } from "../io/checkpoint.ts";
import { writeFileAtomic } from "../io/files.ts";
import { noisyClassifierArch } from "../models/classifier.ts";
import { SDE_NAMES, sdeByName } from "../sde/index.ts";
import { Classifier, trainClassifier, trainNoisyClassifier } from "../tasks/classifier.ts";
import { describeKind } from "../io/run-folder.ts";
import { sampleQuality } from "../tasks/evaluate.ts";
import { sampleByName } from "../tasks/sample.ts";
import { openImageSet, openLabeledData, openScoreSource } from "../tasks/sources.ts";
import { imageGrid } from "../viz/index.ts";
import { UsageError, choiceOpt, numberOpt, seedOpt } from "./errors.ts";
import { checkDistinct, checkExtension } from "./validate.ts";
import { progressBar } from "./progress.ts";
import { exitCodeOf, stopOnSignals } from "./signals.ts";
import { addSamplerFlags, checkSampleMemory, classLabels, imageShape, samplerOptions } from "./sample.ts";
import { addShardFlags, chunkBar, shardPlan } from "./shard-flags.ts";
import { sampleSharded } from "../tasks/shard.ts";

/**
 * SIGINT, SIGTERM or SIGHUP stop classifier training early: what was trained is evaluated and saved,
 * and the command exits with 128 + the signal's number (as `train` does).
 */
async function untilSignal<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const stop = stopOnSignals({
    log: (s) => process.stderr.write(`${s.replace("saving a checkpoint", "saving the classifier")}\n`),
  });
  try {
    return await work(stop.signal);
  } finally {
    stop.dispose();
    const s = stop.received();
    if (s) process.exitCode = exitCodeOf(s);
  }
}

interface ClassifierFlags {
  out: string;
  steps: string;
  seed: string;
  json?: boolean;
  noiseConditional?: boolean;
  sde: string;
  data: string;
  batch?: string;
  lr: string;
  width?: string;
}

async function trainNoisy(f: ClassifierFlags): Promise<void> {
  const steps = numberOpt("--steps", f.steps, { int: true, min: 1, max: 1e9 })!,
    seed = seedOpt("--seed", f.seed);
  const sde = sdeByName(choiceOpt("--sde", f.sde, SDE_NAMES));
  const data = await openLabeledData(f.data);
  const image = data.dataShape.length === 3;
  const width = numberOpt("--width", f.width, { int: true, min: 1 });
  const arch = noisyClassifierArch(data.dataShape, data.train.classes, width ? { width } : {});
  const bar = progressBar("classifier", steps, ["loss"]);
  const r = await untilSignal((signal) =>
    trainNoisyClassifier(data.train, data.heldOut, {
      sde,
      arch,
      steps,
      batch: numberOpt("--batch", f.batch ?? (image ? "64" : "256"), { int: true, min: 1 })!,
      lr: numberOpt("--lr", f.lr, { min: 0, minExclusive: true, max: 1e3 })!,
      seed,
      outDir: f.out,
      data: { source: f.data, ...(data.range ? { range: data.range } : {}) },
      onStep: (s, loss) => {
        if (s % 20 === 0 || s === steps) bar.update(s, { loss: loss.toFixed(3) });
      },
      signal,
    }),
  );
  bar.stop();
  if (f.json) {
    console.log(JSON.stringify(r));
    return;
  }
  const acc = r.accuracy.map(([t, a]) => `t=${t.toPrecision(2)}: ${(100 * a).toFixed(1)} %`).join(", ");
  console.log(
    `noise-conditional classifier (${sde.name}, ${data.train.classes} classes) trained for ${r.steps} steps in ${r.seconds.toFixed(0)} s; held-out accuracy ${acc}; saved to ${f.out}`,
  );
}

export function registerEvaluate(program: Command): void {
  program
    .command("classifier")
    .description(
      "train the MNIST classifier that `evaluate` uses to judge samples (train split; reports held-out accuracy), or with --noise-conditional a time-dependent classifier p_t(y | x(t)) for classifier guidance (sample --classifier DIR)",
    )
    .requiredOption("--out <dir>", "folder for the classifier checkpoint")
    .option("--steps <n>", "training steps (batch 64)", "2000")
    .option("--seed <n>", "random seed", "0")
    .option(
      "--noise-conditional",
      "train p_t(y | x(t)) on data perturbed by --sde (a small CNN with a time input for images, an MLP for points)",
    )
    .option("--sde <name>", `with --noise-conditional: the forward SDE (${SDE_NAMES.join(", ")})`, "vp")
    .option(
      "--data <name>",
      "with --noise-conditional: labeled data: mnist, mnist-color, oracle:SPEC.json (points labeled by component), an IDX file with --labels or a PNG folder with class subfolders",
      "mnist",
    )
    .option("--batch <n>", "with --noise-conditional: batch size (default 64 for images, 256 for points)")
    .option("--lr <x>", "with --noise-conditional: Adam learning rate", "1e-3")
    .option("--width <n>", "with --noise-conditional: network width (default 32 for images, 128 for points)")
    .option("--json", "print a JSON report")
    .action(async (f: ClassifierFlags) => {
      if (f.noiseConditional) return trainNoisy(f);
      const steps = numberOpt("--steps", f.steps, { int: true, min: 1, max: 1e9 })!,
        seed = seedOpt("--seed", f.seed);
      // Refuse an occupied --out before loading data and training (the task checks again under the folder's lock).
      const held = await checkpointKind(f.out).catch(() => undefined);
      if (held)
        throw new UsageError(
          `${f.out} already holds a ${describeKind(held.kind)} (step ${held.step}); choose another --out`,
        );
      const [train, heldOut] = await Promise.all([
        openImageSet("mnist", { split: "train" }),
        openImageSet("mnist", { split: "test" }),
      ]);
      const bar = progressBar("classifier", steps, ["loss"]);
      const r = await untilSignal((signal) =>
        trainClassifier(train, heldOut, {
          steps,
          seed,
          outDir: f.out,
          signal,
          onStep: (s, loss) => {
            if (s % 20 === 0) bar.update(s, { loss: loss.toFixed(3) });
          },
        }),
      );
      bar.stop();
      if (f.json) console.log(JSON.stringify(r));
      else
        console.log(
          `classifier trained for ${r.steps} steps in ${r.seconds.toFixed(0)} s: held-out accuracy ${(100 * r.heldOutAccuracy).toFixed(2)} % on ${heldOut.n} digits; saved to ${f.out}`,
        );
    });

  const ev = program
    .command("evaluate")
    .description(
      "sample quality of generated digits: class histogram, fraction confident > 0.9, Fréchet distance of classifier features",
    )
    .requiredOption("--classifier <dir>", "a classifier folder (scoregen classifier --out DIR)")
    .option("--samples <file>", "generated digits: a .json/.csv of 784-value rows (as written by scoregen sample)")
    .option("--range <r>", "pixel range of --samples: [-1,1] or [0,1]", "[-1,1]")
    .option("--score <dir>", "instead of --samples: a run folder to sample from")
    .option("--sampler <name>", "with --score: the sampler", "em")
    .option("--n <n>", "with --score: number of samples", "256")
    .option("--seed <n>", "with --score: random seed", "0")
    .option("--class <k|all>", "with --score, for class-conditional models")
    .option("--grid <file.png>", "also write a PNG grid of (up to 100) samples")
    .option("--json", "print a JSON report");
  addSamplerFlags(ev);
  addShardFlags(ev);
  ev.action(async (f: Record<string, string | boolean | undefined>) => {
    if (!f.samples === !f.score) throw new UsageError("give exactly one of --samples FILE or --score DIR");
    if (f.grid) checkExtension("--grid", String(f.grid), [".png"]);
    checkDistinct({ "--grid": f.grid as string | undefined }, { "--samples": f.samples as string | undefined });
    if (f.samples && f.shards !== undefined)
      throw new UsageError("--shards splits the sampling of --score; with --samples there is nothing to shard");
    const { classifier, accuracy } = await Classifier.load(String(f.classifier));
    let x: ArrayLike<number>, n: number, range: PixelRange;
    if (f.samples) {
      const p = await readPointsFile(String(f.samples));
      if (p.dim !== 784)
        throw new UsageError(
          `${f.samples} holds rows of ${p.dim} values; evaluate needs 28×28 digits (784 values per row)`,
        );
      x = p.data;
      n = p.n;
      range = choiceOpt("--range", String(f.range), ["[-1,1]", "[0,1]"] as const);
    } else {
      n = numberOpt("--n", String(f.n), { int: true, min: 2 })!;
      checkSampleMemory("--n", n, 784, 0);
      const labels = f.class === undefined ? undefined : classLabels(String(f.class), n);
      const src = await openScoreSource(String(f.score), undefined, { labels });
      const shape = imageShape(src);
      if (shape?.channels !== 1 || shape.height !== 28)
        throw new UsageError(`${f.score} is not a model of 28×28 grayscale digits`);
      range = shape.range[0] === 0 ? "[0,1]" : "[-1,1]";
      const seed = seedOpt("--seed", String(f.seed)),
        options = samplerOptions(String(f.sampler), f);
      const plan = shardPlan(f);
      if (plan) {
        const bar = chunkBar(`sample ${f.sampler}`, plan);
        x = (
          await sampleSharded(
            { score: String(f.score), sampler: String(f.sampler), options, n, seed, labels },
            plan.shards,
            plan.run,
            bar.tick,
          )
        ).x;
        bar.stop();
      } else {
        const bar = progressBar(`sample ${f.sampler}`, 1000, []);
        const run = await sampleByName(src.model, src.sde, String(f.sampler), {
          n,
          seed,
          options,
          onStep: (i) => bar.update(Math.round(1000 * (1 - i.t / src.sde.T))),
        });
        bar.stop();
        x = run.x;
      }
    }
    if (f.grid)
      await writeFileAtomic(
        String(f.grid),
        imageGrid(
          Float64Array.from({ length: Math.min(n, 100) * 784 }, (_, i) => x[i]!),
          { channels: 1, height: 28, width: 28, cols: 10, range: range === "[0,1]" ? [0, 1] : [-1, 1] },
        ),
      );
    const q = await sampleQuality(classifier, x, n, range, await openImageSet("mnist", { split: "test" }));
    if (f.json) {
      console.log(JSON.stringify({ ...q, classifierAccuracy: accuracy }));
      return;
    }
    console.log(
      [
        `${q.n} samples judged by a classifier with ${(100 * accuracy).toFixed(2)} % held-out accuracy`,
        `class histogram (0–9): ${q.histogram.join(" ")}`,
        `classified with confidence > 0.9: ${(100 * q.confident).toFixed(1)} %`,
        `Fréchet distance of classifier features to held-out digits: ${q.frechet.toFixed(3)} (held-out half vs half: ${q.frechetRealVsReal.toFixed(3)})`,
      ].join("\n"),
    );
  });
}
