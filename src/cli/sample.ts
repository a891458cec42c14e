/** `scoregen sample`: draw samples from a trained run or an oracle with any registered sampler. */
import type { Command } from "commander";
import { asPoints, readPointsFile, writePointsFile } from "../data/points.ts";
import { findToy2D } from "../data/toy2d.ts";
import { writeFileAtomic } from "../io/files.ts";
import { Rng } from "../rng.ts";
import { SAMPLERS, SAMPLER_NAMES, getSampler, type AnySamplerOptions } from "../sampling/registry.ts";
import { SDE_NAMES } from "../sde/index.ts";
import { type SampleRun, sampleByName } from "../tasks/sample.ts";
import { guidedModel } from "../tasks/control.ts";
import { openScoreSource, type ScoreSource } from "../tasks/sources.ts";
import { encodeNpy } from "../io/npy.ts";
import {
  encodeGif,
  imageGrid,
  pathsFromFrames,
  pointCloudGif,
  imageGridRaster,
  scatterPlot,
  trajectoryPlot,
} from "../viz/index.ts";
import { UsageError, choiceOpt, numberOpt, seedOpt } from "./errors.ts";
import { checkDistinct, checkExtension, checkMemory } from "./validate.ts";
import { progressBar } from "./progress.ts";
import { addShardFlags, chunkBar, shardPlan } from "./shard-flags.ts";
import { sampleSharded } from "../tasks/shard.ts";

/** Every sampler option, as --kebab-case flags; each sampler accepts the subset its registry entry lists. */
const SAMPLER_FLAGS = [
  ...new Map(
    Object.values(SAMPLERS)
      .flatMap((s) => s.options)
      .map((o) => [o.name, o]),
  ).values(),
];
const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export function registerSample(program: Command): void {
  const cmd = program
    .command("sample")
    .description(
      "draw samples with a score model: em, pc, ald, ancestral, ode, ddim, dpmpp-2m, dpmpp-2s, dpmpp-2m-sde or heun",
    )
    .requiredOption(
      "--score <dir|oracle:spec.json>",
      "a training-run folder, or oracle:SPEC.json for an exact Gaussian mixture",
    )
    .requiredOption(
      "--out <file>",
      "output: .json (array of points), .csv or .png (2-D scatter plot, or an image grid for image models)",
    )
    .option("--sde <name>", `SDE for an oracle (${SDE_NAMES.join(", ")}); a run folder uses its own`)
    .option("--sampler <name>", `sampler: ${SAMPLER_NAMES.join(", ")}`, "pc")
    .option("--n <n>", "number of samples", "1000")
    .option("--seed <n>", "random seed", "0")
    .option("--gif <file>", "also write an animated GIF of the reverse process (2-D points or image grids)")
    .option(
      "--from <file>",
      "start from these states at t = T instead of prior draws (.json/.csv; e.g. latents from likelihood --latent: with --sampler ode this decodes them); sets --n",
    )
    .option(
      "--class <k|all>",
      "class-conditional models, --classifier or --cfg: the class of every sample, or all (cycling 0, 1, …)",
    )
    .option(
      "--classifier <dir|oracle>",
      "classifier guidance: a noise-conditional classifier folder (scoregen classifier --noise-conditional), or oracle (exact, for oracle:SPEC.json)",
    )
    .option("--scale <s>", "classifier guidance scale", "1")
    .option(
      "--cfg <w>",
      "classifier-free guidance weight w: (1+w)·s(x|y) − w·s(x) (models trained with --label-dropout)",
    )
    .option(
      "--npy <file>",
      "image models: also write the samples as a NumPy array [N, C, H, W] float32 in the data range",
    )
    .option("--trajectories <file>", "also write a PNG of sample paths (2-D)")
    .option("--no-ema", "use the raw parameters instead of their EMA")
    .option("--json", "print a JSON summary");
  addSamplerFlags(cmd);
  addShardFlags(cmd);
  cmd.action(async (f: Record<string, string | boolean | undefined>) => runSample(f));
}

/** "default X", or the default of each sampler that takes the option when they differ. */
function defaultsText(name: string): string {
  const per = Object.values(SAMPLERS).flatMap((s) =>
    s.options.filter((o) => o.name === name).map((o) => [s.name, o.default] as const),
  );
  const distinct = new Set(per.map(([, d]) => d));
  return distinct.size === 1 ? `default ${per[0]![1]}` : `default: ${per.map(([s, d]) => `${s} ${d}`).join("; ")}`;
}

/** Adds every sampler option (--steps, --snr, --method, …) to a command. */
export function addSamplerFlags(cmd: Command): Command {
  for (const o of SAMPLER_FLAGS)
    cmd.option(
      `--${kebab(o.name)} <${o.type === "enum" ? o.values!.join("|") : o.type}>`,
      `${o.doc} (${defaultsText(o.name)})`,
    );
  return cmd;
}

/** Allowed ranges of the numeric sampler options (eps is checked against the SDE's T by the sampler). */
const OPTION_RANGES: Record<string, { min?: number; max?: number; minExclusive?: boolean }> = {
  steps: { min: 1, max: 1e7 },
  correctorSteps: { min: 0, max: 1e4 },
  eps: { min: 0, minExclusive: true },
  snr: { min: 0, minExclusive: true },
  stepLr: { min: 0, minExclusive: true },
  eta: { min: 0, max: 10 },
  rtol: { min: 0, minExclusive: true, max: 1 },
  atol: { min: 0, minExclusive: true, max: 1 },
};

/** The sampler options given on the command line, checked against what the chosen sampler accepts. */
export function samplerOptions(sampler: string, f: Record<string, unknown>): AnySamplerOptions {
  const entry = getSampler(sampler);
  const out: Record<string, unknown> = {};
  for (const o of SAMPLER_FLAGS) {
    const v = f[o.name];
    if (v === undefined) continue;
    if (!entry.options.some((a) => a.name === o.name))
      throw new UsageError(
        `--${kebab(o.name)} does not apply to the ${sampler} sampler (it takes: ${entry.options.map((a) => `--${kebab(a.name)}`).join(", ")})`,
      );
    out[o.name] =
      o.type === "enum"
        ? choiceOpt(`--${kebab(o.name)}`, String(v), o.values!)
        : numberOpt(`--${kebab(o.name)}`, String(v), {
            int: o.type === "int",
            ...(OPTION_RANGES[o.name] ?? { min: 0 }),
          });
  }
  return out as AnySamplerOptions;
}

async function runSample(f: Record<string, string | boolean | undefined>): Promise<void> {
  const out = String(f.out);
  const ext = checkExtension("--out", out, [".json", ".csv", ".png", ".npy"]);
  if (f.gif) checkExtension("--gif", String(f.gif), [".gif"]);
  if (f.trajectories) checkExtension("--trajectories", String(f.trajectories), [".png"]);
  checkDistinct(
    { "--out": out, "--gif": f.gif as string | undefined, "--trajectories": f.trajectories as string | undefined },
    { "--from": f.from as string | undefined },
  );
  const sampler = String(f.sampler);
  const options = samplerOptions(sampler, f);
  const start = f.from ? await readPointsFile(String(f.from)) : undefined;
  const n = start ? start.n : numberOpt("--n", String(f.n), { int: true, min: 1 })!,
    seed = seedOpt("--seed", String(f.seed));
  const labels = f.class === undefined ? undefined : classLabels(String(f.class), n);
  const src = await openScoreSource(String(f.score), f.sde as string | undefined, { ema: f.ema !== false, labels });
  if (f.classifier === undefined && f.cfg === undefined) {
    if (src.run?.model.classes && !labels)
      throw new UsageError(
        `this model is class-conditional (${src.run.model.classes} classes): pass --class K or --class all`,
      );
    if (labels?.some((k) => k >= (src.run?.model.classes ?? 0)))
      throw new UsageError(
        `--class ${f.class} is not a class of this model (${src.run?.model.classes ? `0 to ${src.run.model.classes - 1}` : "it is unconditional; use --classifier for classifier guidance"})`,
      );
  }
  const model = await guidedModel(src, {
    classifier: f.classifier as string | undefined,
    labels,
    scale: numberOpt("--scale", String(f.scale)),
    cfg: numberOpt("--cfg", f.cfg as string | undefined),
  }).catch((e: Error) => {
    throw new UsageError(e.message);
  });
  if (start && start.dim !== src.model.dim)
    throw new UsageError(
      `${f.from} holds rows of dimension ${start.dim}, but the model is for dimension ${src.model.dim}`,
    );
  const image = imageShape(src);
  checkSampleMemory("--n", n, src.model.dim, f.gif || f.trajectories ? 62 : 0);
  const twoD = src.model.dim === 2;
  if (!image && (ext === ".npy" || f.npy))
    throw new UsageError(".npy output is for image models; write points as .json or .csv");
  if (!image && !twoD && (ext === ".png" || f.gif || f.trajectories))
    throw new UsageError(
      `PNG plots, --gif and --trajectories need 2-D points or images; this model has dimension ${src.model.dim}`,
    );
  if (image && f.trajectories) throw new UsageError("--trajectories is for 2-D points; use --gif to watch images form");
  const plan = shardPlan(f);
  if (plan && (f.classifier !== undefined || f.cfg !== undefined))
    throw new UsageError("--shards does not carry guidance to the workers yet; drop --classifier/--cfg or --shards");
  if (plan && (f.gif || f.trajectories))
    throw new UsageError("--gif and --trajectories follow one process's sampler steps; drop them or --shards");
  let run: Pick<SampleRun, "x" | "nfe" | "frames" | "times" | "seconds">;
  if (plan) {
    const bar = chunkBar(`sample ${sampler}`, plan),
      t0 = performance.now();
    const r = await sampleSharded(
      {
        score: String(f.score),
        sde: f.sde as string | undefined,
        ema: f.ema !== false,
        sampler,
        options,
        n,
        seed,
        labels,
        xT: start?.data,
      },
      plan.shards,
      plan.run,
      bar.tick,
    );
    bar.stop();
    run = { ...r, frames: [], times: [], seconds: (performance.now() - t0) / 1000 };
  } else {
    const bar = progressBar(`sample ${sampler}`, 1000, ["nfe"]);
    run = await sampleByName(model, src.sde, sampler, {
      n,
      seed,
      options,
      frames: f.gif || f.trajectories ? 60 : 0,
      xT: start?.data,
      onStep: (i) => bar.update(Math.round(1000 * (1 - i.t / src.sde.T)), { nfe: model.nfe }),
    });
    bar.stop();
  }
  if (image) {
    if (ext === ".png") await writeFileAtomic(out, imageGrid(run.x, { ...image, title: `${sampler}: ${n} samples` }));
    else if (ext === ".npy")
      await writeFileAtomic(out, encodeNpy(run.x, [n, image.channels, image.height, image.width]));
    else await writePointsFile(out, asPoints(run.x, src.model.dim));
    if (f.npy) await writeFileAtomic(String(f.npy), encodeNpy(run.x, [n, image.channels, image.height, image.width]));
    if (f.gif)
      await writeFileAtomic(
        String(f.gif),
        encodeGif(
          run.frames.map((x, k) =>
            imageGridRaster(x.subarray(0, Math.min(n, 64) * src.model.dim), {
              ...image,
              title: `t = ${run.times[k]!.toFixed(3)}`,
            }),
          ),
          { delayMs: 80, lastDelayMs: 2000 },
        ),
      );
  } else {
    await writeSamples(out, run.x, src);
    if (f.gif)
      await writeFileAtomic(
        String(f.gif),
        pointCloudGif(run.frames, {
          reference: referencePoints(src),
          captions: run.times.map((t) => `t = ${t.toFixed(3)}`),
          delayMs: 80,
          lastDelayMs: 1500,
        }),
      );
  }
  // a few paths show stochastic motion; deterministic (ODE/DDIM) paths stay readable in larger numbers
  const paths = Math.min(n, ["ode", "ddim", "dpmpp-2m", "dpmpp-2s", "heun"].includes(sampler) ? 40 : 10);
  if (f.trajectories)
    await writeFileAtomic(
      String(f.trajectories),
      trajectoryPlot(pathsFromFrames(run.frames.map((x) => x.subarray(0, 2 * paths))), {
        logDensity: logDensityOf(src),
        title: `${sampler} trajectories`,
      }),
    );
  const summary = {
    out,
    n,
    sampler,
    nfe: run.nfe,
    seconds: Math.round(run.seconds * 100) / 100,
    score: src.label,
    ...(plan ? { shards: plan.shards, where: plan.where } : {}),
  };
  if (f.json) console.log(JSON.stringify(summary));
  else console.log(`wrote ${n} samples to ${out} (${sampler}, ${run.nfe} score evaluations, ${summary.seconds} s)`);
}

async function writeSamples(out: string, x: Float64Array, src: ScoreSource): Promise<void> {
  if (out.toLowerCase().endsWith(".png")) {
    await writeFileAtomic(
      out,
      scatterPlot({
        samples: x,
        data: referencePoints(src),
        logDensity: logDensityOf(src),
        title: `samples: ${src.label}`,
      }),
    );
  } else await writePointsFile(out, asPoints(x, src.model.dim));
}

/**
 * Refuse an n whose arrays cannot be allocated: a sampler holds ~8 float64 arrays of n·dim (state,
 * mean, score, noise, RK stages), plus `frames` snapshots for a GIF or trajectories.
 */
export function checkSampleMemory(flag: string, n: number, dim: number, frames = 0): void {
  const one = n * dim * 8;
  checkMemory(flag, n, `${n} samples of dimension ${dim}`, one * (8 + frames), one);
}

/** --class K (every sample) or all (0, 1, …, 9, cycling). */
export function classLabels(v: string, n: number, classes = 10): Int32Array {
  if (v === "all") return Int32Array.from({ length: n }, (_, i) => i % classes);
  const k = numberOpt("--class", v, { int: true, min: 0 })!;
  return new Int32Array(n).fill(k);
}

/** Image geometry and pixel range of a run trained on images, else undefined. */
export function imageShape(
  src: ScoreSource,
): { channels: 1 | 3; height: number; width: number; range: [number, number] } | undefined {
  const shape = src.run?.model.dataShape;
  if (shape?.length !== 3) return undefined;
  const range =
    (src.run?.data?.options as { range?: string } | undefined)?.range === "[0,1]"
      ? ([0, 1] as [number, number])
      : ([-1, 1] as [number, number]);
  return { channels: shape[0] === 3 ? 3 : 1, height: shape[1]!, width: shape[2]!, range };
}

/** Points of the data distribution to draw under samples: oracle draws, or the run's built-in dataset. */
function referencePoints(src: ScoreSource): Float64Array | undefined {
  const rng = new Rng(12345);
  if (src.oracle) return src.oracle.sampleData(rng, 2000);
  return findToy2D(String(src.run?.data?.source ?? ""))?.sample(2000, rng);
}

/** The exact data log-density, for shading plots: the oracle's, or that of the run's built-in dataset when known. */
function logDensityOf(src: ScoreSource): ((x: number, y: number) => number) | undefined {
  const o = src.oracle;
  if (o) return (x, y) => o.logProb(Float64Array.of(x, y), 1e-5, 1)[0]!;
  return findToy2D(String(src.run?.data?.source ?? ""))?.logDensity;
}
