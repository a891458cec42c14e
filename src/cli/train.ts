/** `scoregen train`: fit a score model to data and write a run folder (checkpoint + config + loss.csv). */
import { access } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import { OBJECTIVES, checkObjective } from "../losses/objectives.ts";
import { mlpSpec } from "../models/registry.ts";
import { PARAMETERIZATIONS, SDE_NAMES, type Parameterization } from "../sde/index.ts";
import { openTrainData } from "../tasks/sources.ts";
import { type TrainConfig, loadRun, train } from "../tasks/train.ts";
import { UsageError, choiceOpt, numberOpt } from "./errors.ts";
import { progressBar } from "./progress.ts";

interface TrainFlags {
  data: string; sde: string; loss: string; steps: string; out: string; batch: string; lr: string; warmup: string;
  clip: string; ema: string; seed: string; hidden: string; layers: string; param: string; checkpointEvery: string; resume?: boolean; json?: boolean;
}

export function registerTrain(program: Command): void {
  program.command("train")
    .description("train a score model on data; DIR receives model.safetensors, config.json and loss.csv")
    .requiredOption("--data <name|file>", "built-in 2-D dataset (swissroll, moons, 8gaussians, checkerboard, rings, scurve) or a .csv/.json file of points")
    .requiredOption("--out <dir>", "run folder for the checkpoint, config and loss log")
    .option("--sde <name>", `forward SDE: ${SDE_NAMES.join(", ")}`, "vp")
    .option("--loss <name>", `objective: ${OBJECTIVES.join(", ")}`, "dsm")
    .option("--steps <n>", "total training steps", "5000")
    .option("--batch <n>", "batch size", "512")
    .option("--lr <x>", "Adam learning rate", "2e-3")
    .option("--warmup <n>", "learning-rate warmup steps", "100")
    .option("--clip <x>", "clip gradients to this global norm (0 = off)", "1")
    .option("--ema <x>", "EMA decay of the parameters (0 = off)", "0.999")
    .option("--seed <n>", "random seed", "0")
    .option("--hidden <n>", "MLP width", "128")
    .option("--layers <n>", "MLP hidden layers", "3")
    .option("--param <kind>", `network output: ${PARAMETERIZATIONS.join(", ")}`, "eps")
    .option("--checkpoint-every <n>", "checkpoint interval in steps", "1000")
    .option("--resume", "continue the run in --out (its saved settings are used; --steps sets the new total)")
    .option("--json", "print a JSON summary instead of text")
    .action(async (f: TrainFlags) => runTrain(f));
}

async function runTrain(f: TrainFlags): Promise<void> {
  const steps = numberOpt("--steps", f.steps, { int: true, min: 1 })!;
  const exists = await access(join(f.out, "config.json")).then(() => true, () => false);
  if (exists && !f.resume) throw new UsageError(`${f.out} already holds a training run; pass --resume to continue it or choose another --out`);
  let cfg: TrainConfig;
  if (f.resume && exists) cfg = (await loadRun(f.out, false)).cfg;
  else cfg = configFromFlags(f);
  const data = await openTrainData(String(cfg.data?.source ?? f.data));
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once("SIGINT", onSigint);
  const bar = progressBar("train", steps, ["loss", "it_s"]);
  const t0 = performance.now();
  let first = 0;
  try {
    const res = await train(cfg, data, {
      steps, outDir: f.out, resume: f.resume, checkpointEvery: numberOpt("--checkpoint-every", f.checkpointEvery, { int: true, min: 1 }), signal: controller.signal,
      onStep: ({ step, loss }) => {
        if (!first) first = step;
        if (step % 10 === 0 || step === steps) bar.update(step, { loss: loss.toFixed(4), it_s: ((step - first + 1) / ((performance.now() - t0) / 1000)).toFixed(0) });
      },
    });
    bar.stop();
    const seconds = (performance.now() - t0) / 1000;
    const tail = res.losses.slice(-100);
    const summary = { out: f.out, step: res.step, stopped: res.stopped, seconds: Math.round(seconds * 10) / 10, loss: tail.length ? tail.reduce((a, b) => a + b, 0) / tail.length : null };
    if (f.json) console.log(JSON.stringify(summary));
    else console.log(`${res.stopped ? "stopped" : "trained"} to step ${res.step} in ${summary.seconds} s; mean loss of the last ${tail.length} steps ${summary.loss?.toFixed(4)}; checkpoint in ${f.out}${res.stopped ? " (continue with --resume)" : ""}`);
  } finally {
    bar.stop();
    process.off("SIGINT", onSigint);
  }
}

function configFromFlags(f: TrainFlags): TrainConfig {
  const clip = numberOpt("--clip", f.clip, { min: 0 })!, ema = numberOpt("--ema", f.ema, { min: 0, max: 1 })!;
  return {
    model: mlpSpec(2, { hidden: numberOpt("--hidden", f.hidden, { int: true, min: 1 })!, layers: numberOpt("--layers", f.layers, { int: true, min: 1 })! }, { parameterization: choiceOpt("--param", f.param, PARAMETERIZATIONS) as Parameterization }),
    sde: choiceOpt("--sde", f.sde, SDE_NAMES),
    objective: checkObjective(f.loss),
    optimizer: { kind: "adam", lr: numberOpt("--lr", f.lr, { min: 0 })!, warmup: numberOpt("--warmup", f.warmup, { int: true, min: 0 }), clipNorm: clip > 0 ? clip : undefined, emaDecay: ema > 0 ? ema : undefined },
    batch: numberOpt("--batch", f.batch, { int: true, min: 1 })!,
    seed: numberOpt("--seed", f.seed, { int: true, min: 0 })!,
    data: { source: f.data },
  };
}
