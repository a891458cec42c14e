/** `scoregen sample`: draw samples from a trained run or an oracle with any registered sampler. */
import { extname } from "node:path";
import type { Command } from "commander";
import { asPoints, readPointsFile, writePointsFile } from "../data/points.ts";
import { findToy2D } from "../data/toy2d.ts";
import { writeFileAtomic } from "../io/files.ts";
import { Rng } from "../rng.ts";
import { SAMPLERS, SAMPLER_NAMES, getSampler, type AnySamplerOptions } from "../sampling/registry.ts";
import { SDE_NAMES } from "../sde/index.ts";
import { sampleByName } from "../tasks/sample.ts";
import { openScoreSource, type ScoreSource } from "../tasks/sources.ts";
import {
  encodeGif,
  imageGrid,
  pathsFromFrames,
  pointCloudGif,
  renderImageGrid,
  scatterPlot,
  trajectoryPlot,
} from "../viz/index.ts";
import { UsageError, choiceOpt, numberOpt } from "./errors.ts";
import { progressBar } from "./progress.ts";

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
    .description("draw samples with a score model: em, pc, ald, ancestral, ode or ddim")
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
    .option("--class <k|all>", "class-conditional models: the class of every sample, or all (cycling 0, 1, …)")
    .option("--trajectories <file>", "also write a PNG of sample paths (2-D)")
    .option("--no-ema", "use the raw parameters instead of their EMA")
    .option("--json", "print a JSON summary");
  addSamplerFlags(cmd);
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
        : numberOpt(`--${kebab(o.name)}`, String(v), { int: o.type === "int", min: 0 });
  }
  return out as AnySamplerOptions;
}

async function runSample(f: Record<string, string | boolean | undefined>): Promise<void> {
  const out = String(f.out);
  const ext = extname(out).toLowerCase();
  if (![".json", ".csv", ".png"].includes(ext))
    throw new UsageError(`--out must end in .json, .csv or .png, got '${out}'`);
  const sampler = String(f.sampler);
  const options = samplerOptions(sampler, f);
  const start = f.from ? await readPointsFile(String(f.from)) : undefined;
  const n = start ? start.n : numberOpt("--n", String(f.n), { int: true, min: 1 })!,
    seed = numberOpt("--seed", String(f.seed), { int: true, min: 0 })!;
  const labels = f.class === undefined ? undefined : classLabels(String(f.class), n);
  const src = await openScoreSource(String(f.score), f.sde as string | undefined, { ema: f.ema !== false, labels });
  if (src.run?.model.classes && !labels)
    throw new UsageError(
      `this model is class-conditional (${src.run.model.classes} classes): pass --class K or --class all`,
    );
  if (labels?.some((k) => k >= (src.run?.model.classes ?? 0)))
    throw new UsageError(
      `--class ${f.class} is not a class of this model (${src.run?.model.classes ? `0 to ${src.run.model.classes - 1}` : "it is unconditional"})`,
    );
  if (start && start.dim !== src.model.dim)
    throw new UsageError(
      `${f.from} holds rows of dimension ${start.dim}, but the model is for dimension ${src.model.dim}`,
    );
  const image = imageShape(src);
  const twoD = src.model.dim === 2;
  if (!image && !twoD && (ext === ".png" || f.gif || f.trajectories))
    throw new UsageError(
      `PNG plots, --gif and --trajectories need 2-D points or images; this model has dimension ${src.model.dim}`,
    );
  if (image && f.trajectories) throw new UsageError("--trajectories is for 2-D points; use --gif to watch images form");
  const bar = progressBar(`sample ${sampler}`, 1000, ["nfe"]);
  const run = await sampleByName(src.model, src.sde, sampler, {
    n,
    seed,
    options,
    frames: f.gif || f.trajectories ? 60 : 0,
    xT: start?.data,
    onStep: (i) => bar.update(Math.round(1000 * (1 - i.t / src.sde.T)), { nfe: src.model.nfe }),
  });
  bar.stop();
  if (image) {
    if (ext === ".png") await writeFileAtomic(out, imageGrid(run.x, { ...image, title: `${sampler}: ${n} samples` }));
    else await writePointsFile(out, asPoints(run.x, src.model.dim));
    if (f.gif)
      await writeFileAtomic(
        String(f.gif),
        encodeGif(
          run.frames.map((x, k) =>
            renderImageGrid(x.subarray(0, Math.min(n, 64) * src.model.dim), {
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
  const paths = Math.min(n, sampler === "ode" || sampler === "ddim" ? 40 : 10);
  if (f.trajectories)
    await writeFileAtomic(
      String(f.trajectories),
      trajectoryPlot(pathsFromFrames(run.frames.map((x) => x.subarray(0, 2 * paths))), {
        logDensity: logDensityOf(src),
        title: `${sampler} trajectories`,
      }),
    );
  const summary = { out, n, sampler, nfe: run.nfe, seconds: Math.round(run.seconds * 100) / 100, score: src.label };
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

/** --class K (every sample) or all (0, 1, …, 9, cycling). */
export function classLabels(v: string, n: number): Int32Array {
  if (v === "all") return Int32Array.from({ length: n }, (_, i) => i % 10);
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
