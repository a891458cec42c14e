/**
 * Where scores and data come from, by the strings a user types:
 *   score:  a training-run folder (checkpoint + config), or "oracle:SPEC.json" (exact Gaussian mixture)
 *   data:   a built-in 2-D dataset name, a .csv / .json file of points, "mnist", an IDX file or a PNG folder
 */
import { readFile, readdir, stat } from "node:fs/promises";
import { type ImageSet, type PixelRange, dequantize, loadIdxImages, loadMnist, loadPngFolder } from "../data/images.ts";
import { colorDigits } from "../data/colored-digits.ts";
import { readPointsFile } from "../data/points.ts";
import { TOY2D_NAMES, findToy2D } from "../data/toy2d.ts";
import { EngineNetwork } from "../models/network.ts";
import { MixtureOracle, parseMixtureSpec } from "../oracle/index.ts";
import { Rng } from "../rng.ts";
import type { ScoreModel } from "../score.ts";
import { type Sde, asScoreModel, sdeByName } from "../sde/index.ts";
import { type TrainConfig, type TrainData, unlabeled } from "./train.ts";
import { loadRun } from "./train-node.ts";

export interface ScoreSource {
  model: ScoreModel;
  sde: Sde;
  /** What it is, for reports: "oracle:…" or the run folder and its step. */
  label: string;
  /** The oracle, when the source is one (exact log-density and data samples). */
  oracle?: MixtureOracle;
  /** The run's training config, when the source is a checkpoint. */
  run?: TrainConfig;
  /** For class-conditional runs: the same network bound to other labels [n] (e.g. the null label). */
  relabel?: (labels: Int32Array) => ScoreModel;
}

/**
 * Opens `oracle:SPEC.json` (with `sdeName`, default vp) or a run folder (its own SDE; `sdeName` must
 * agree). A class-conditional run needs `labels`: one class per sample row of every batch.
 */
export async function openScoreSource(
  source: string,
  sdeName?: string,
  opts: { ema?: boolean; labels?: Int32Array } = {},
): Promise<ScoreSource> {
  if (source.startsWith("oracle:")) {
    const path = source.slice("oracle:".length);
    const text = await readFile(path, "utf8").catch((e: Error) => {
      throw new Error(`cannot read oracle spec ${path}: ${e.message}`);
    });
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new Error(
        `${path} is not valid JSON (${(e as Error).message}); expected {"weights":[…],"means":[[…]],"stds":[[…]]}`,
      );
    }
    const sde = sdeByName(sdeName ?? "vp");
    const oracle = new MixtureOracle(parseMixtureSpec(json), sde);
    return { model: oracle, sde, label: source, oracle };
  }
  const { cfg, params, step } = await loadRun(source, opts.ema ?? true).catch((e: Error) => {
    throw /checkpoint folder not found/.test(e.message)
      ? new Error(
          `no training run at ${source}: pass a folder written by \`scoregen train --out DIR\`, or oracle:SPEC.json for an exact Gaussian mixture`,
        )
      : e;
  });
  if (sdeName && sdeName !== cfg.sde)
    throw new Error(`the model in ${source} was trained with the ${cfg.sde} SDE; drop --sde or pass --sde ${cfg.sde}`);
  const sde = sdeByName(cfg.sde);
  const model = asScoreModel(
    new EngineNetwork(cfg.model, params, sde, cfg.model.classes ? opts.labels : undefined),
    sde,
    cfg.model.parameterization,
  );
  const relabel = cfg.model.classes
    ? (labels: Int32Array) =>
        asScoreModel(new EngineNetwork(cfg.model, params, sde, labels), sde, cfg.model.parameterization)
    : undefined;
  return { model, sde, label: `${source} (step ${step})`, run: cfg, ...(relabel ? { relabel } : {}) };
}

/** Options for image data. */
export interface ImageDataOptions {
  /** Pixel scaling (default "[-1,1]"). */
  range?: PixelRange;
  /** Random horizontal flips during training. */
  flip?: boolean;
  /** Uniformly dequantize each training image (fresh noise per draw), as for likelihood training. */
  dequantize?: boolean;
  /** Resize/crop images to size×size (PNG folders and IDX files; MNIST is 28). */
  size?: number;
  /** Channels for PNG folders (1 or 3). */
  channels?: 1 | 3;
  /** IDX label file for an IDX image file. */
  labels?: string;
  /** Which part of the built-in MNIST digits: "train" (9,000) or "test" (the 1,000 held out). */
  split?: "train" | "test";
}

export type SourcedData = TrainData & { describe: string; extent?: number; images?: ImageSet };

/**
 * Training data by name: a built-in 2-D dataset, a .csv/.json file of points, "mnist" (the built-in
 * digits), "mnist-color" (the same digits as RGB: colored digit on a colored background, seeded), an IDX image file (MNIST/Fashion-MNIST format, gzipped or not) or a folder of PNG images.
 */
export async function openTrainData(spec: string, opts: ImageDataOptions = {}): Promise<SourcedData> {
  const info = findToy2D(spec);
  if (info) {
    return { ...unlabeled(2, info.sample), describe: info.description, extent: info.extent };
  }
  if (/\.(csv|json)$/i.test(spec)) {
    const p = await readPointsFile(spec);
    if (p.n === 0) throw new Error(`${spec} holds no points; training needs at least one row of data`);
    return { ...rowsWithReplacement(p.data, p.n, p.dim), describe: `${p.n} points of dimension ${p.dim} from ${spec}` };
  }
  const images = await openImageSet(spec, opts);
  return {
    ...imageData(images, opts.flip ?? false, opts.dequantize ? (opts.range ?? "[-1,1]") : undefined),
    describe: `${images.n} images ${images.c}×${images.h}×${images.w} from ${spec}`,
    images,
  };
}

/** The images behind an image data spec (see openTrainData), scaled to opts.range. */
export async function openImageSet(spec: string, opts: ImageDataOptions = {}): Promise<ImageSet> {
  const set = await openImages(spec, opts);
  if (set.n === 0) throw new Error(`${spec} holds no images; training and evaluation need at least one`);
  return set;
}

/**
 * A folder of PNGs is labeled by its subfolders (one per class) when it has any, else it is a flat
 * folder of unlabeled images.
 */
async function openImages(spec: string, opts: ImageDataOptions): Promise<ImageSet> {
  const range = opts.range ?? "[-1,1]";
  if (spec === "mnist") return loadMnist({ split: opts.split ?? "train", range });
  if (spec === "mnist-color")
    return colorDigits(await loadMnist({ split: opts.split ?? "train", range }), range, opts.split === "test" ? 1 : 0);
  const st = await stat(spec).catch(() => undefined);
  if (st?.isDirectory()) {
    const hasSubfolders = (await readdir(spec, { withFileTypes: true })).some((e) => e.isDirectory());
    return loadPngFolder(spec, {
      range,
      size: opts.size,
      channels: opts.channels,
      labels: hasSubfolders ? "subfolders" : "none",
    });
  }
  if (st?.isFile() && /(idx\d?-ubyte|\.idx\d?)(\.gz)?$|\.gz$/i.test(spec))
    return loadIdxImages(spec, opts.labels, { range, size: opts.size });
  throw new Error(
    `unknown data '${spec}': use a built-in 2-D dataset (${TOY2D_NAMES.join(", ")}), a .csv/.json file of points, "mnist", "mnist-color" (the digits colored, seeded), an IDX image file, or a folder of PNG images`,
  );
}

function rowsWithReplacement(data: Float64Array, n: number, dim: number): TrainData {
  return unlabeled(dim, (m, rng) => {
    const out = new Float64Array(m * dim);
    for (let i = 0; i < m; i++) {
      const r = rng.int(n);
      out.set(data.subarray(r * dim, (r + 1) * dim), i * dim);
    }
    return out;
  });
}

/** Batches of images drawn with replacement (optionally flipped and dequantized in `dequantizeRange`), with their labels. */
function imageData(set: ImageSet, flip: boolean, dequantizeRange?: PixelRange): TrainData {
  const dim = set.c * set.h * set.w;
  const classes = set.labels ? Math.max(...set.labels) + 1 : undefined;
  return {
    dim,
    classes,
    sample(n, rng) {
      const x = new Float32Array(n * dim);
      const y = set.labels ? new Int32Array(n) : undefined;
      for (let i = 0; i < n; i++) {
        const r = rng.int(set.n);
        const row = set.data.subarray(r * dim, (r + 1) * dim);
        if (flip && rng.uniform() < 0.5) flipInto(row, x.subarray(i * dim, (i + 1) * dim), set.c, set.h, set.w);
        else x.set(row, i * dim);
        if (y) y[i] = set.labels![r]!;
      }
      const xs = dequantizeRange
        ? dequantize({ n, c: set.c, h: set.h, w: set.w, data: x }, rng, dequantizeRange).data
        : x;
      return y ? { x: xs, y } : { x: xs };
    },
  };
}

function flipInto(src: Float32Array, dst: Float32Array, c: number, h: number, w: number): void {
  for (let k = 0; k < c; k++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) dst[(k * h + i) * w + j] = src[(k * h + i) * w + (w - 1 - j)]!;
}

/** Labeled data for classifiers: batches with labels, a held-out set, and the shape of one example. */
export interface LabeledData {
  train: TrainData & { classes: number };
  heldOut: { x: ArrayLike<number>; labels: Int32Array; n: number };
  dataShape: number[];
  describe: string;
  /** Pixel range for images. */ range?: PixelRange;
}

/**
 * Labeled data by name: "oracle:SPEC.json" (points of a Gaussian mixture labeled by component,
 * 2,000 fresh held-out draws) or labeled images ("mnist", "mnist-color", IDX with --labels, PNG
 * folders with one subfolder per class; the held-out digits are MNIST's test split).
 */
export async function openLabeledData(spec: string, opts: ImageDataOptions = {}): Promise<LabeledData> {
  if (spec.startsWith("oracle:")) {
    const mixture = (await openScoreSource(spec)).oracle!.mixture;
    const held = mixture.sample(new Rng(0xbeef), 2000);
    return {
      train: {
        dim: mixture.dim,
        classes: mixture.K,
        sample: (n, rng) => {
          const s = mixture.sample(rng, n);
          return { x: s.x, y: s.labels };
        },
      },
      heldOut: { x: held.x, labels: held.labels, n: 2000 },
      dataShape: [mixture.dim],
      describe: `${mixture.K}-component Gaussian mixture ${spec}`,
    };
  }
  const range = opts.range ?? "[-1,1]";
  const train = await openTrainData(spec, { ...opts, range, split: "train" });
  if (!train.images?.labels || !train.classes)
    throw new Error(
      `${spec} has no labels; a classifier needs labeled data (mnist, mnist-color, an IDX file with --labels, a PNG folder with class subfolders, or oracle:SPEC.json)`,
    );
  const held = /^mnist/.test(spec) ? await openImageSet(spec, { ...opts, range, split: "test" }) : train.images;
  const im = train.images;
  return {
    train: { ...train, classes: train.classes },
    heldOut: { x: held.data, labels: held.labels!, n: held.n },
    dataShape: [im.c, im.h, im.w],
    describe: train.describe,
    range,
  };
}
