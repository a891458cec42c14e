/**
 * Controllable generation as tasks: reading images (PNG, .npy), masks and points with unknown
 * coordinates; guided score models from a score source (classifier guidance, classifier-free
 * guidance); inpainting, colorization and interpolation runs.
 */
import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import {
  MixtureClassifier,
  classifierFreeGuided,
  classifierGuided,
  grayConstraint,
  interpolate,
  maskConstraint,
  reconstructionGuided,
  namedMask,
  repeatRows,
  sampleConstrained,
  toGray,
  MASK_NAMES,
} from "../controllable/index.ts";
import { type PixelRange, decodePng, scaleIntensity } from "../data/images.ts";
import { decodeNpy, encodeNpy } from "../io/npy.ts";
import { Rng } from "../rng.ts";
import type { AnySamplerOptions } from "../sampling/registry.ts";
import type { Constraint } from "../sampling/types.ts";
import type { NoisyClassifier, ScoreModel } from "../score.ts";
import { loadNoisyClassifier } from "./classifier.ts";
import type { ScoreSource } from "./sources.ts";

/** Image geometry of a model: channels, height, width and pixel range. */
export interface ImageGeometry {
  c: number;
  h: number;
  w: number;
  range: PixelRange;
}

/**
 * Images from a PNG (one image; converted to c channels, scaled to the range) or a .npy array
 * ([N,C,H,W], [C,H,W] or [H,W] for C = 1, float values already in the data range).
 * Returns data [n·c·h·w]. A different size or channel count is a clear error.
 */
export async function readImages(
  path: string,
  g: ImageGeometry,
  what = "--input",
): Promise<{ x: Float64Array; n: number }> {
  const bytes = await readFile(path).catch((e: NodeJS.ErrnoException) => {
    throw new Error(e.code === "ENOENT" ? `${what} ${path}: no such file` : `cannot read ${path}: ${e.message}`);
  });
  const per = g.c * g.h * g.w;
  if (extname(path).toLowerCase() === ".npy") {
    const a = decodeNpy(bytes, path);
    const s = a.shape;
    const shape = s.length === 4 ? s.slice(1) : s.length === 3 ? s : s.length === 2 ? [1, ...s] : null;
    if (!shape || shape[0] !== g.c || shape[1] !== g.h || shape[2] !== g.w)
      throw new Error(
        `${what} ${path} has shape [${s.join(", ")}] but the model needs images [N, ${g.c}, ${g.h}, ${g.w}]`,
      );
    return { x: Float64Array.from(a.data), n: a.data.length / per };
  }
  if (extname(path).toLowerCase() !== ".png")
    throw new Error(`${what} ${path}: use a .png image or a .npy array [N, ${g.c}, ${g.h}, ${g.w}]`);
  const png = decodePng(bytes, path);
  if (png.width !== g.w || png.height !== g.h)
    throw new Error(`${what} ${path} is ${png.width}×${png.height} but the model needs ${g.w}×${g.h} images`);
  const x = new Float64Array(per),
    p = g.h * g.w;
  for (let j = 0; j < p; j++) {
    const [r, gg, b] = [png.rgba[4 * j]!, png.rgba[4 * j + 1]!, png.rgba[4 * j + 2]!];
    if (g.c === 1) x[j] = scaleIntensity((r + gg + b) / 3, g.range);
    else
      [r, gg, b].forEach((v, c) => {
        x[c * p + j] = scaleIntensity(v, g.range);
      });
  }
  return { x, n: 1 };
}

/**
 * A mask [c·h·w] (1 = known pixel): a named one (top-half, bottom-half, left-half, right-half,
 * center-box), or a PNG (white/non-black = known) or .npy ([H,W] or [C,H,W], non-zero = known) of
 * the model's image size. `invert` swaps known and unknown.
 */
export async function readMask(spec: string, g: ImageGeometry, invert = false): Promise<Uint8Array> {
  if ((MASK_NAMES as readonly string[]).includes(spec)) return namedMask(spec, g.c, g.h, g.w, invert);
  const ext = extname(spec).toLowerCase();
  if (ext !== ".png" && ext !== ".npy")
    throw new Error(`--mask ${spec}: use one of ${MASK_NAMES.join(", ")}, a PNG or a .npy file`);
  const bytes = await readFile(spec).catch((e: NodeJS.ErrnoException) => {
    throw new Error(e.code === "ENOENT" ? `--mask ${spec}: no such file` : `cannot read ${spec}: ${e.message}`);
  });
  const p = g.h * g.w,
    m = new Uint8Array(g.c * p);
  if (ext === ".png") {
    const png = decodePng(bytes, spec);
    if (png.width !== g.w || png.height !== g.h)
      throw new Error(
        `--mask ${spec} is ${png.width}×${png.height} but the images are ${g.w}×${g.h}; draw the mask at the image size`,
      );
    for (let j = 0; j < p; j++) {
      const known = png.rgba[4 * j]! + png.rgba[4 * j + 1]! + png.rgba[4 * j + 2]! > 381 ? 1 : 0;
      for (let c = 0; c < g.c; c++) m[c * p + j] = known;
    }
  } else {
    const a = decodeNpy(bytes, spec),
      s = a.shape;
    const ok =
      (s.length === 2 && s[0] === g.h && s[1] === g.w) ||
      (s.length === 3 && s[0] === g.c && s[1] === g.h && s[2] === g.w);
    if (!ok)
      throw new Error(
        `--mask ${spec} has shape [${s.join(", ")}] but the images are [${g.c}, ${g.h}, ${g.w}]; give [${g.h}, ${g.w}] or [${g.c}, ${g.h}, ${g.w}]`,
      );
    for (let i = 0; i < g.c * p; i++) m[i] = a.data[s.length === 2 ? i % p : i] !== 0 ? 1 : 0;
  }
  if (invert) for (let i = 0; i < m.length; i++) m[i] = 1 - m[i]!;
  return m;
}

/** Guidance settings: classifier guidance (a folder or "oracle") or classifier-free guidance. */
export interface GuidanceOptions {
  /** A noise-conditional classifier folder, or "oracle" (exact, for oracle:SPEC sources). */ classifier?: string;
  /** Guidance scale (default 1). */ scale?: number;
  /** Classifier-free guidance weight w. */ cfg?: number;
  /** One class per sample [n]. */ labels?: Int32Array;
}

/** The (guided) score model for a source: unchanged without guidance. Clear errors for mismatches. */
export async function guidedModel(src: ScoreSource, g: GuidanceOptions): Promise<ScoreModel> {
  if (g.classifier !== undefined && g.cfg !== undefined)
    throw new Error("choose one of --classifier (classifier guidance) and --cfg (classifier-free guidance)");
  if (g.cfg !== undefined) {
    const spec = src.run?.model;
    if (!spec?.classes)
      throw new Error(
        `--cfg needs a class-conditional model trained with label dropout (train --conditional --label-dropout 0.1); ${src.label} is unconditional`,
      );
    if (!(spec.labelDropout! > 0))
      throw new Error(
        `--cfg needs a model trained with label dropout; ${src.label} was trained without it (retrain with --label-dropout 0.1)`,
      );
    if (!g.labels) throw new Error("--cfg needs --class K (the class to guide towards)");
    const bad = g.labels.find((k) => k >= spec.classes!);
    if (bad !== undefined)
      throw new Error(`--class ${bad} is out of range: the model knows classes 0 to ${spec.classes - 1}`);
    return classifierFreeGuided(src.model, src.relabel!(new Int32Array(g.labels.length).fill(spec.classes)), g.cfg);
  }
  if (g.classifier === undefined) return src.model;
  if (!g.labels) throw new Error("--classifier needs --class K (the class to guide towards)");
  let clf: NoisyClassifier;
  if (g.classifier === "oracle") {
    if (!src.oracle)
      throw new Error(
        "--classifier oracle is the exact classifier of an oracle mixture; use it with --score oracle:SPEC.json, or pass a classifier folder",
      );
    clf = new MixtureClassifier(src.oracle.mixture, src.sde);
  } else {
    const { classifier, config } = await loadNoisyClassifier(g.classifier);
    if (config.sde !== src.sde.name)
      throw new Error(
        `the classifier in ${g.classifier} was trained for the ${config.sde} SDE but the score model uses ${src.sde.name}; train one with --sde ${src.sde.name}`,
      );
    const shape = src.run?.model.dataShape ?? [src.model.dim];
    if (config.arch.dataShape.join("x") !== shape.join("x"))
      throw new Error(
        `the classifier in ${g.classifier} takes data of shape [${config.arch.dataShape.join(", ")}] but the score model's data has shape [${shape.join(", ")}]`,
      );
    clf = classifier;
  }
  const bad = g.labels.find((k) => k >= clf.classes);
  if (bad !== undefined)
    throw new Error(`--class ${bad} is out of range: the classifier knows classes 0 to ${clf.classes - 1}`);
  return classifierGuided(src.model, clf, g.labels, g.scale ?? 1);
}

/**
 * Inpainting run: m inputs [m·dim] with known masks [m·dim], k completions each → [m·k·dim]. The
 * replacement method; with `reconstruction` w > 0 also reconstruction guidance of weight w.
 */
export async function runInpaint(
  model: ScoreModel,
  src: ScoreSource,
  sampler: string,
  y: Float64Array,
  known: Uint8Array,
  m: number,
  k: number,
  o: { seed: number; options: AnySamplerOptions; onStep?: (t: number) => void; reconstruction?: number },
): Promise<Float64Array> {
  const ys = repeatRows(y, m, k),
    ks = repeatRows(known, m, k);
  const w = o.reconstruction ?? 0,
    guided = w > 0 ? reconstructionGuided(model, src.sde, ys, ks, { weight: w }) : model;
  return runConstrained(guided, src, sampler, maskConstraint(ys, ks), m * k, o);
}

/** Colorization run: gray images [m·h·w], k colorings each → RGB [m·k·3·h·w]. */
export async function runColorize(
  model: ScoreModel,
  src: ScoreSource,
  sampler: string,
  gray: Float64Array,
  m: number,
  k: number,
  h: number,
  w: number,
  o: { seed: number; options: AnySamplerOptions; onStep?: (t: number) => void },
): Promise<Float64Array> {
  return runConstrained(model, src, sampler, grayConstraint(repeatRows(gray, m, k), m * k, h, w), m * k, o);
}

async function runConstrained(
  model: ScoreModel,
  src: ScoreSource,
  sampler: string,
  c: Constraint,
  n: number,
  o: { seed: number; options: AnySamplerOptions; onStep?: (t: number) => void },
): Promise<Float64Array> {
  const rng = new Rng(o.seed);
  const r = await sampleConstrained(sampler, model, src.sde, c, {
    ...o.options,
    n,
    rng,
    onStep: (i) => o.onStep?.(i.t),
  });
  return r.x;
}

/** Gray version of inputs: 1-channel images are already gray; RGB → channel mean. x [n·c·h·w] → [n·h·w]. */
export function grayOf(x: Float64Array, n: number, c: number, h: number, w: number): Float64Array {
  return c === 1 ? Float64Array.from(x) : toGray(x, n, h, w);
}

export { interpolate, encodeNpy };
