/** `scoregen inpaint`, `colorize` and `interpolate`: controllable generation with a trained score model or an oracle. */
import { extname } from "node:path";
import type { Command } from "commander";
import { sampleExactConditional } from "../controllable/index.ts";
import { asPoints, readPointsFile, writePointsFile } from "../data/points.ts";
import { writeFileAtomic } from "../io/files.ts";
import { encodeNpy } from "../io/npy.ts";
import { Rng } from "../rng.ts";
import type { AnySamplerOptions } from "../sampling/registry.ts";
import {
  type ImageGeometry,
  grayOf,
  interpolate,
  readImages,
  readMask,
  runColorize,
  runInpaint,
} from "../tasks/control.ts";
import { type ScoreSource, openScoreSource } from "../tasks/sources.ts";
import { encodeGif, imageGrid, renderImageGrid } from "../viz/index.ts";
import { UsageError, numberOpt } from "./errors.ts";
import { progressBar } from "./progress.ts";
import { addSamplerFlags, imageShape, samplerOptions } from "./sample.ts";

type Flags = Record<string, string | boolean | undefined>;

/** Image geometry of an image model, or undefined for points. */
function geometry(src: ScoreSource): ImageGeometry | undefined {
  const s = imageShape(src);
  return s && { c: s.channels, h: s.height, w: s.width, range: s.range[0] === 0 ? "[0,1]" : "[-1,1]" };
}

const gridOpts = (g: ImageGeometry, cols: number, title?: string) => ({
  channels: g.c as 1 | 3,
  height: g.h,
  width: g.w,
  cols,
  range: (g.range === "[0,1]" ? [0, 1] : [-1, 1]) as [number, number],
  ...(title ? { title } : {}),
});

function checkOut(out: string, allowed: string[], what: string): string {
  const ext = extname(out).toLowerCase();
  if (!allowed.includes(ext))
    throw new UsageError(`--out must end in ${allowed.join(" or ")} for ${what}, got '${out}'`);
  return ext;
}

function common(cmd: Command): Command {
  return addSamplerFlags(
    cmd
      .requiredOption(
        "--score <dir|oracle:spec.json>",
        "a training-run folder, or oracle:SPEC.json for an exact Gaussian mixture",
      )
      .option("--sde <name>", "SDE for an oracle (ve, vp, subvp); a run folder uses its own")
      .option("--seed <n>", "random seed", "0")
      .option(
        "--resample <u>",
        "take every predictor step U times, re-noising back in between (RePaint's resampling: completions agree better with the known part; U× the score evaluations)",
        "1",
      )
      .option("--no-ema", "use the raw parameters instead of their EMA"),
  );
}

/** The sampler's options plus --resample. */
function constrainedOptions(sampler: string, f: Flags): AnySamplerOptions & { resample: number } {
  const resample = numberOpt("--resample", String(f.resample), { int: true, min: 1 })!;
  if (resample > 1 && sampler === "ode")
    throw new UsageError(
      "--resample needs a stochastic sampler (pc, em, ancestral, ddim); the ODE's path is deterministic",
    );
  return { ...samplerOptions(sampler, f), resample };
}

function progress(label: string, src: ScoreSource): { update: (t: number) => void; stop: () => void } {
  const bar = progressBar(label, 1000, []);
  return { update: (t) => bar.update(Math.round(1000 * (1 - t / src.sde.T))), stop: () => bar.stop() };
}

export function registerControl(program: Command): void {
  common(
    program
      .command("inpaint")
      .description(
        "fill in the unknown part of images (by a mask) or of points (null coordinates) with the replacement method (Song et al. 2021, App. I)",
      )
      .requiredOption(
        "--input <file>",
        "images: a .png or a .npy [N, C, H, W] in the data range; points: a .json/.csv with null (or empty) for unknown coordinates",
      )
      .option(
        "--mask <name|file>",
        "images: the KNOWN region: top-half, bottom-half, left-half, right-half, center-box, or a PNG/.npy (white / non-zero = known)",
      )
      .option("--invert-mask", "swap known and unknown (e.g. --mask center-box --invert-mask fills a central hole)")
      .option(
        "--reconstruction <w>",
        "reconstruction guidance of weight W (Ho et al. 2022): also steer the unknown part by the gradient of how well the denoised known part matches the input; one score VJP per step; MNIST: 20; 0 = off",
        "0",
      )
      .option("--n-per-input <k>", "completions per input", "4")
      .option(
        "--exact",
        "oracle points only: draw from the exact conditional of the mixture instead (to compare with the replacement method)",
      )
      .option("--npy <file>", "images: also write the completions as a NumPy array [N·K, C, H, W]")
      .requiredOption(
        "--out <file>",
        "images: a .png grid (per input: masked input, K completions, input) or .npy; points: .json or .csv",
      ),
  )
    .option("--sampler <name>", "sampler (pc, em, ancestral, ddim, ald, ode)", "pc")
    .action(async (f: Flags) => runInpaintCmd(f));

  common(
    program
      .command("colorize")
      .description(
        "colorize gray images with an RGB model: the gray channel (channel mean) is pinned, the colors are sampled (decoupled method, Song et al. 2021, App. I)",
      )
      .requiredOption(
        "--input <file>",
        "gray images: a .png (an RGB PNG is reduced to its channel mean) or a .npy [N, 1, H, W] / [N, H, W] in the data range",
      )
      .option("--n-per-input <k>", "colorings per input", "4")
      .option("--npy <file>", "also write the results as a NumPy array [N·K, 3, H, W]")
      .requiredOption("--out <file>", "a .png grid (per input: gray input, K colorings) or .npy"),
  )
    .option("--sampler <name>", "sampler (pc, em, ancestral, ddim, ald, ode)", "pc")
    .action(async (f: Flags) => runColorizeCmd(f));

  program
    .command("interpolate")
    .description(
      "encode two inputs with the probability-flow ODE, interpolate their latents spherically, decode the frames",
    )
    .requiredOption("--score <dir|oracle:spec.json>", "a training-run folder, or oracle:SPEC.json")
    .option("--sde <name>", "SDE for an oracle (ve, vp, subvp)")
    .requiredOption(
      "--a <file>",
      "first input: an image (.png/.npy) or, for point models, a .json/.csv (its first row)",
    )
    .requiredOption("--b <file>", "second input, like --a")
    .option("--frames <n>", "number of frames, ends included", "8")
    .option("--rtol <x>", "RK45 relative tolerance", "1e-5")
    .option("--atol <x>", "RK45 absolute tolerance", "1e-5")
    .option("--gif <file>", "images: also write an animated GIF (forth and back)")
    .option("--npy <file>", "images: also write the frames as a NumPy array [frames, C, H, W]")
    .option("--no-ema", "use the raw parameters instead of their EMA")
    .requiredOption("--out <file>", "images: a .png strip (or .npy); points: .json or .csv")
    .action(async (f: Flags) => runInterpolateCmd(f));
}

async function open(f: Flags): Promise<ScoreSource> {
  return openScoreSource(String(f.score), f.sde as string | undefined, { ema: f.ema !== false });
}

/** How the completions were made, for the closing line. */
function method(sampler: string, reconstruction: number): string {
  return `${sampler}, replacement method${reconstruction > 0 ? ` + reconstruction guidance ${reconstruction}` : ""}`;
}

async function runInpaintCmd(f: Flags): Promise<void> {
  const k = numberOpt("--n-per-input", String(f.nPerInput), { int: true, min: 1 })!,
    seed = numberOpt("--seed", String(f.seed), { int: true, min: 0 })!;
  const sampler = String(f.sampler),
    options = constrainedOptions(sampler, f),
    reconstruction = numberOpt("--reconstruction", String(f.reconstruction), { min: 0 })!;
  const src = await open(f);
  if (src.run?.model.classes)
    throw new UsageError("inpainting needs an unconditional model; this one is class-conditional");
  const g = geometry(src),
    out = String(f.out);
  const bar = progress(`inpaint ${sampler}`, src);
  if (!g) {
    checkOut(out, [".json", ".csv"], "points");
    if (f.mask) throw new UsageError("--mask is for images; mark unknown point coordinates with null in --input");
    const p = await readPointsFile(String(f.input), undefined, { missing: true });
    if (p.dim !== src.model.dim)
      throw new UsageError(
        `${f.input} holds points of dimension ${p.dim} but the model is for dimension ${src.model.dim}`,
      );
    const known = Uint8Array.from(p.data, (v) => (Number.isNaN(v) ? 0 : 1));
    let x: Float64Array;
    if (f.exact) {
      if (!src.oracle)
        throw new UsageError(
          "--exact needs an oracle score (oracle:SPEC.json): the exact conditional is known only for Gaussian mixtures",
        );
      x = sampleExactConditional(src.oracle.mixture, p.data, known, p.n, k, new Rng(seed));
    } else
      x = await runInpaint(src.model, src, sampler, p.data, known, p.n, k, {
        seed,
        options,
        reconstruction,
        onStep: bar.update,
      }).catch(usage);
    bar.stop();
    await writePointsFile(out, asPoints(x, p.dim));
    console.log(
      `wrote ${p.n * k} completions of ${p.n} points to ${out}${f.exact ? " (exact conditional)" : ` (${method(sampler, reconstruction)})`}`,
    );
    return;
  }
  const ext = checkOut(out, [".png", ".npy"], "images");
  if (f.exact) throw new UsageError("--exact is for oracle points; images use the replacement method");
  if (!f.mask)
    throw new UsageError(
      "--mask is required for images: top-half, bottom-half, left-half, right-half, center-box, or a PNG/.npy file",
    );
  const { x: y, n: m } = await readImages(String(f.input), g).catch(usage);
  const mask = await readMask(String(f.mask), g, f.invertMask === true).catch(usage);
  const per = g.c * g.h * g.w,
    known = new Uint8Array(m * per);
  for (let i = 0; i < m; i++) known.set(mask, i * per);
  const x = await runInpaint(src.model, src, sampler, y, known, m, k, {
    seed,
    options,
    reconstruction,
    onStep: bar.update,
  }).catch(usage);
  bar.stop();
  const npy = encodeNpy(x, [m * k, g.c, g.h, g.w]);
  if (ext === ".npy") await writeFileAtomic(out, npy);
  else {
    const tiles: Float64Array[] = [];
    for (let i = 0; i < m; i++) {
      const input = y.subarray(i * per, (i + 1) * per);
      tiles.push(input.map((v, j) => (mask[j] ? v : NaN)));
      for (let r = 0; r < k; r++) tiles.push(x.subarray((i * k + r) * per, (i * k + r + 1) * per));
      tiles.push(Float64Array.from(input));
    }
    await writeFileAtomic(
      out,
      imageGrid(tiles, gridOpts(g, k + 2, `inpainting: input (unknown magenta), ${k} completions, input`)),
    );
  }
  if (f.npy) await writeFileAtomic(String(f.npy), npy);
  console.log(
    `wrote ${m * k} completions of ${m} images to ${out}${f.npy ? ` and ${f.npy}` : ""} (${method(sampler, reconstruction)})`,
  );
}

async function runColorizeCmd(f: Flags): Promise<void> {
  const k = numberOpt("--n-per-input", String(f.nPerInput), { int: true, min: 1 })!,
    seed = numberOpt("--seed", String(f.seed), { int: true, min: 0 })!;
  const sampler = String(f.sampler),
    options = constrainedOptions(sampler, f);
  const src = await open(f);
  const g = geometry(src),
    out = String(f.out);
  if (g?.c !== 3)
    throw new UsageError(
      `colorize needs a model of RGB images (3 channels); ${src.label} is ${g ? "a gray image model" : "not an image model"} (train one with --data mnist-color)`,
    );
  const ext = checkOut(out, [".png", ".npy"], "images");
  const input = String(f.input);
  const { x: gray, n: m } = await readImages(input, { ...g, c: 1 }).catch(usage);
  const bar = progress(`colorize ${sampler}`, src);
  const x = await runColorize(src.model, src, sampler, grayOf(gray, m, 1, g.h, g.w), m, k, g.h, g.w, {
    seed,
    options,
    onStep: bar.update,
  }).catch(usage);
  bar.stop();
  const per = 3 * g.h * g.w,
    npy = encodeNpy(x, [m * k, 3, g.h, g.w]);
  if (ext === ".npy") await writeFileAtomic(out, npy);
  else {
    const tiles: Float64Array[] = [];
    for (let i = 0; i < m; i++) {
      const gi = gray.subarray(i * g.h * g.w, (i + 1) * g.h * g.w);
      tiles.push(Float64Array.from({ length: per }, (_, j) => gi[j % (g.h * g.w)]!));
      for (let r = 0; r < k; r++) tiles.push(x.subarray((i * k + r) * per, (i * k + r + 1) * per));
    }
    await writeFileAtomic(out, imageGrid(tiles, gridOpts(g, k + 1, `colorization: gray input, ${k} colorings`)));
  }
  if (f.npy) await writeFileAtomic(String(f.npy), npy);
  console.log(`wrote ${m * k} colorings of ${m} gray images to ${out}${f.npy ? ` and ${f.npy}` : ""} (${sampler})`);
}

async function runInterpolateCmd(f: Flags): Promise<void> {
  const frames = numberOpt("--frames", String(f.frames), { int: true, min: 2 })!;
  const tol = {
    rtol: numberOpt("--rtol", String(f.rtol), { min: 0 })!,
    atol: numberOpt("--atol", String(f.atol), { min: 0 })!,
  };
  const src = await open(f);
  if (src.run?.model.classes)
    throw new UsageError("interpolate needs an unconditional model; this one is class-conditional");
  const g = geometry(src),
    out = String(f.out),
    dim = src.model.dim;
  const read = async (file: string, flag: string): Promise<Float64Array> => {
    if (g) {
      const r = await readImages(file, g, flag).catch(usage);
      return r.x.subarray(0, dim);
    }
    const p = await readPointsFile(file);
    if (p.dim !== dim)
      throw new UsageError(`${flag} ${file} holds points of dimension ${p.dim} but the model is for dimension ${dim}`);
    return p.data.subarray(0, dim);
  };
  const [a, b] = [await read(String(f.a), "--a"), await read(String(f.b), "--b")];
  const r = await interpolate(src.model, src.sde, a, b, frames, tol);
  if (!g) {
    checkOut(out, [".json", ".csv"], "points");
    if (f.gif || f.npy) throw new UsageError("--gif and --npy are for image models");
    await writePointsFile(out, asPoints(r.x, dim));
  } else {
    const ext = checkOut(out, [".png", ".npy"], "images");
    const npy = encodeNpy(r.x, [frames, g.c, g.h, g.w]);
    if (ext === ".npy") await writeFileAtomic(out, npy);
    else await writeFileAtomic(out, imageGrid(r.x, gridOpts(g, frames)));
    if (f.npy) await writeFileAtomic(String(f.npy), npy);
    if (f.gif) {
      const pics = Array.from({ length: frames }, (_, i) =>
        renderImageGrid(r.x.subarray(i * dim, (i + 1) * dim), gridOpts(g, 1)),
      );
      await writeFileAtomic(String(f.gif), encodeGif([...pics, ...pics.slice(1, -1).reverse()], { delayMs: 150 }));
    }
  }
  console.log(`wrote ${frames} interpolation frames to ${out} (${r.nfe} score evaluations)`);
}

/** Library errors about the user's inputs, as one-line usage errors. */
function usage(e: Error): never {
  throw new UsageError(e.message);
}
