/**
 * Bits/dim of held-out images (Song et al. 2021 §4.3 protocol): uniformly dequantize the 8-bit
 * pixels, integrate the probability-flow ODE with the Hutchinson–Skilling divergence (one fixed
 * probe per image and solve), and add the dequantization offset (see src/data/images.ts). Each
 * repeat draws new dequantization noise and probes; the report is the mean ± standard error
 * over repeats, plus the per-image spread.
 */
import { type ImageSet, type PixelRange, dequantizationBpdOffset, dequantize, subsetImages } from "../data/images.ts";
import { logLikelihood } from "../likelihood/index.ts";
import { Rng } from "../rng.ts";
import type { ScoreModel } from "../score.ts";
import type { Sde } from "../sde/index.ts";

export interface ImageBpdOptions {
  n: number;
  repeats: number;
  seed: number;
  range: PixelRange;
  rtol?: number;
  atol?: number;
  probe?: "rademacher" | "gaussian";
  /** Called after each repeat with its mean bits/dim. */
  onRepeat?: (k: number, bpd: number) => void;
}

export interface ImageBpdReport {
  /** Mean bits/dim of each repeat. */
  perRepeat: number[];
  mean: number;
  /** Standard error of the mean over repeats (0 for one repeat). */
  stderr: number;
  /** Standard deviation of bits/dim across images (all repeats). */
  perImageStd: number;
  n: number;
  nfe: number;
  seconds: number;
}

export async function imageBitsPerDim(
  model: ScoreModel,
  sde: Sde,
  images: ImageSet,
  o: ImageBpdOptions,
): Promise<ImageBpdReport> {
  if (o.n > images.n) throw new Error(`asked for ${o.n} held-out images but only ${images.n} are available`);
  const set = subsetImages(
    images,
    Array.from({ length: o.n }, (_, i) => i),
  );
  const t0 = performance.now();
  const perRepeat: number[] = [],
    all: number[] = [];
  let nfe = 0;
  for (let k = 0; k < o.repeats; k++) {
    const rng = new Rng(o.seed).fork(k);
    const x = Float64Array.from(dequantize(set, rng.fork(0), o.range).data);
    const r = await logLikelihood(model, sde, x, o.n, {
      divergence: "hutchinson",
      probe: o.probe ?? "rademacher",
      rng: rng.fork(1),
      rtol: o.rtol ?? 1e-5,
      atol: o.atol ?? 1e-5,
      bpdOffset: dequantizationBpdOffset(o.range),
    });
    const m = r.bpd.reduce((s, v) => s + v, 0) / o.n;
    perRepeat.push(m);
    all.push(...r.bpd);
    nfe += r.nfe;
    o.onRepeat?.(k, m);
  }
  const mean = perRepeat.reduce((s, v) => s + v, 0) / perRepeat.length;
  const sd = (a: number[], m: number) => Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / Math.max(1, a.length - 1));
  const allMean = all.reduce((s, v) => s + v, 0) / all.length;
  return {
    perRepeat,
    mean,
    stderr: perRepeat.length > 1 ? sd(perRepeat, mean) / Math.sqrt(perRepeat.length) : 0,
    perImageStd: sd(all, allMean),
    n: o.n,
    nfe,
    seconds: (performance.now() - t0) / 1000,
  };
}
