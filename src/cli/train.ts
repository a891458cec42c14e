/** `scoregen train`: fit a score model to data and write a run folder (checkpoint + config + loss.csv). */
import { access } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import { OBJECTIVES, checkObjective } from "../losses/objectives.ts";
import { type ModelSpec, mlpSpec, ncsnppSpec, scoreNetSpec } from "../models/registry.ts";
import { PARAMETERIZATIONS, SDE_NAMES, type Parameterization } from "../sde/index.ts";
import { type ImageDataOptions, type SourcedData, openTrainData } from "../tasks/sources.ts";
import { type TrainConfig, loadRun, train } from "../tasks/train.ts";
import { UsageError, choiceOpt, numberOpt } from "./errors.ts";
import { progressBar } from "./progress.ts";

interface TrainFlags {
  data: string;
  sde: string;
  loss: string;
  steps: string;
  out: string;
  batch?: string;
  lr?: string;
  warmup: string;
  clip: string;
  ema: string;
  seed: string;
  hidden: string;
  layers: string;
  param: string;
  checkpointEvery?: string;
  resume?: boolean;
  json?: boolean;
  model?: string;
  range: string;
  flip?: boolean;
  dequantize?: boolean;
  size?: string;
  labels?: string;
  conditional?: boolean;
}

/** Defaults that depend on the kind of data: 2-D points or images. */
const DEFAULTS = {
  points: { batch: "512", lr: "2e-3", checkpointEvery: "1000", model: "mlp" },
  images: { batch: "32", lr: "2e-4", checkpointEvery: "500", model: "scorenet" },
} as const;

export function registerTrain(program: Command): void {
  program
    .command("train")
    .description("train a score model on data; DIR receives model.safetensors, config.json and loss.csv")
    .requiredOption(
      "--data <name|file|dir>",
      "built-in 2-D dataset (swissroll, moons, 8gaussians, checkerboard, rings, scurve), a .csv/.json file of points, mnist (the built-in digits), an IDX image file or a folder of PNG images",
    )
    .requiredOption("--out <dir>", "run folder for the checkpoint, config and loss log")
    .option("--sde <name>", `forward SDE: ${SDE_NAMES.join(", ")}`, "vp")
    .option("--loss <name>", `objective: ${OBJECTIVES.join(", ")}`, "dsm")
    .option("--steps <n>", "total training steps", "5000")
    .option(
      "--model <arch>",
      "network: mlp (points), scorenet (the tutorial U-Net, 28×28 images) or ncsnpp (residual U-Net with attention); default by data",
    )
    .option("--batch <n>", "batch size (default 512 for points, 32 for images)")
    .option("--lr <x>", "Adam learning rate (default 2e-3 for points, 2e-4 for images)")
    .option("--warmup <n>", "learning-rate warmup steps", "100")
    .option("--clip <x>", "clip gradients to this global norm (0 = off)", "1")
    .option("--ema <x>", "EMA decay of the parameters (0 = off)", "0.999")
    .option("--seed <n>", "random seed", "0")
    .option("--hidden <n>", "MLP width", "128")
    .option("--layers <n>", "MLP hidden layers", "3")
    .option("--param <kind>", `network output: ${PARAMETERIZATIONS.join(", ")}`, "eps")
    .option("--checkpoint-every <n>", "checkpoint interval in steps (default 1000 for points, 500 for images)")
    .option("--range <r>", "image pixel scaling: [-1,1] or [0,1]", "[-1,1]")
    .option("--flip", "random horizontal flips of images")
    .option("--dequantize", "add uniform dequantization noise to every training image (better bits/dim)")
    .option("--size <n>", "resize/crop images to n×n (PNG folders, IDX files)")
    .option("--labels <file>", "IDX label file for an IDX image file")
    .option("--conditional", "train a class-conditional model (needs labeled images)")
    .option("--resume", "continue the run in --out (its saved settings are used; --steps sets the new total)")
    .option("--json", "print a JSON summary instead of text")
    .action(async (f: TrainFlags) => runTrain(f));
}

async function runTrain(f: TrainFlags): Promise<void> {
  const steps = numberOpt("--steps", f.steps, { int: true, min: 1 })!;
  const exists = await access(join(f.out, "config.json")).then(
    () => true,
    () => false,
  );
  if (exists && !f.resume)
    throw new UsageError(`${f.out} already holds a training run; pass --resume to continue it or choose another --out`);
  const saved = f.resume && exists ? (await loadRun(f.out, false)).cfg : undefined;
  const dataOpts = (saved?.data?.options ?? imageOptions(f)) as ImageDataOptions;
  const data = await openTrainData(String(saved?.data?.source ?? f.data), dataOpts);
  const cfg = saved ?? configFromFlags(f, data, dataOpts);
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once("SIGINT", onSigint);
  const bar = progressBar("train", steps, ["loss", "it_s"]);
  const t0 = performance.now();
  let first = 0;
  try {
    const res = await train(cfg, data, {
      steps,
      outDir: f.out,
      resume: f.resume,
      checkpointEvery: numberOpt(
        "--checkpoint-every",
        f.checkpointEvery ?? DEFAULTS[data.images ? "images" : "points"].checkpointEvery,
        { int: true, min: 1 },
      ),
      signal: controller.signal,
      onStep: ({ step, loss }) => {
        if (!first) first = step;
        if (step % 10 === 0 || step === steps)
          bar.update(step, {
            loss: loss.toFixed(4),
            it_s: ((step - first + 1) / ((performance.now() - t0) / 1000)).toFixed(0),
          });
      },
    });
    bar.stop();
    const seconds = (performance.now() - t0) / 1000;
    const tail = res.losses.slice(-100);
    const summary = {
      out: f.out,
      step: res.step,
      stopped: res.stopped,
      seconds: Math.round(seconds * 10) / 10,
      loss: tail.length ? tail.reduce((a, b) => a + b, 0) / tail.length : null,
    };
    if (f.json) console.log(JSON.stringify(summary));
    else
      console.log(
        `${res.stopped ? "stopped" : "trained"} to step ${res.step} in ${summary.seconds} s; mean loss of the last ${tail.length} steps ${summary.loss?.toFixed(4)}; checkpoint in ${f.out}${res.stopped ? " (continue with --resume)" : ""}`,
      );
  } finally {
    bar.stop();
    process.off("SIGINT", onSigint);
  }
}

function imageOptions(f: TrainFlags): ImageDataOptions {
  return {
    range: choiceOpt("--range", f.range, ["[-1,1]", "[0,1]"] as const),
    flip: f.flip ?? false,
    dequantize: f.dequantize ?? false,
    size: numberOpt("--size", f.size, { int: true, min: 1 }),
    labels: f.labels,
  };
}

function configFromFlags(f: TrainFlags, data: SourcedData, dataOpts: ImageDataOptions): TrainConfig {
  const kind = data.images ? "images" : "points";
  const d = DEFAULTS[kind];
  const clip = numberOpt("--clip", f.clip, { min: 0 })!,
    ema = numberOpt("--ema", f.ema, { min: 0, max: 1 })!;
  const param = choiceOpt("--param", f.param, PARAMETERIZATIONS) as Parameterization;
  if (f.conditional && !data.classes)
    throw new UsageError(
      `--conditional needs labeled data; ${f.data} has no labels${f.data.match(/ubyte|idx|\.gz$/) ? " (pass --labels FILE)" : ""}`,
    );
  const classes = f.conditional ? data.classes : undefined;
  const model = choiceOpt("--model", f.model ?? d.model, ["mlp", "scorenet", "ncsnpp"] as const);
  let spec: ModelSpec;
  if (model === "mlp") {
    if (data.images) throw new UsageError("--model mlp is for points; use --model scorenet for images");
    // NCSN conditions on the noise level (log σ) rather than on time; its Fourier scale suits log σ's span.
    const ncsn = f.loss === "ncsn";
    spec = mlpSpec(
      data.dim,
      {
        hidden: numberOpt("--hidden", f.hidden, { int: true, min: 1 })!,
        layers: numberOpt("--layers", f.layers, { int: true, min: 1 })!,
        ...(ncsn ? { fourierScale: 0.5 } : {}),
      },
      { parameterization: param, condition: ncsn ? "logsigma" : "time" },
    );
  } else if (model === "ncsnpp") {
    const im = data.images;
    if (!im || im.h % 4 !== 0 || im.w % 4 !== 0)
      throw new UsageError(
        `--model ncsnpp needs images whose sides are divisible by 4${im ? `, got ${im.h}×${im.w} (pass --size)` : ""}`,
      );
    spec = ncsnppSpec([im.c, im.h, im.w], {}, { parameterization: param, classes });
  } else {
    const im = data.images;
    if (im?.h !== 28 || im.w !== 28)
      throw new UsageError(`--model scorenet needs 28×28 images${im ? `, got ${im.h}×${im.w} (pass --size 28)` : ""}`);
    spec = scoreNetSpec({ inChannels: im.c }, { parameterization: param, classes });
  }
  return {
    model: spec,
    sde: choiceOpt("--sde", f.sde, SDE_NAMES),
    objective: checkObjective(f.loss),
    optimizer: {
      kind: "adam",
      lr: numberOpt("--lr", f.lr ?? d.lr, { min: 0 })!,
      warmup: numberOpt("--warmup", f.warmup, { int: true, min: 0 }),
      clipNorm: clip > 0 ? clip : undefined,
      emaDecay: ema > 0 ? ema : undefined,
    },
    batch: numberOpt("--batch", f.batch ?? d.batch, { int: true, min: 1 })!,
    seed: numberOpt("--seed", f.seed, { int: true, min: 0 })!,
    data: { source: f.data, ...(data.images ? { options: dataOpts } : {}) },
  };
}
