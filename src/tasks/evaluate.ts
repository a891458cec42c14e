/**
 * Sample quality of generated digits, judged by the engine-trained MNIST classifier: the class
 * histogram, the fraction classified with confidence > 0.9, and the Fréchet distance between the
 * classifier's 128-d features of samples and of held-out real digits.
 */
import type { ImageSet, PixelRange } from "../data/images.ts";
import { frechetDistance } from "../eval/frechet.ts";
import { CLASSIFIER_FEATURES } from "../models/classifier.ts";
import { type Classifier, argmax } from "./classifier.ts";

export interface SampleQuality {
  n: number;
  /** Count of samples per predicted class 0–9. */
  histogram: number[];
  /** Fraction of samples whose top class probability exceeds 0.9. */
  confident: number;
  /** Fréchet distance of classifier features, samples vs held-out digits. */
  frechet: number;
  /** The same distance between two halves of the held-out digits (a floor for reference). */
  frechetRealVsReal: number;
}

/** samples [n·784] in `range` (mapped to the classifier's [-1, 1]); heldOut in [-1, 1]. */
export async function sampleQuality(
  clf: Classifier,
  samples: ArrayLike<number>,
  n: number,
  range: PixelRange,
  heldOut: ImageSet,
): Promise<SampleQuality> {
  if (samples.length !== n * 784)
    throw new Error(`sample quality needs 28×28 grayscale samples: got ${samples.length} values for ${n} samples`);
  const x = Float32Array.from(samples as ArrayLike<number>, (v) => (range === "[0,1]" ? 2 * v - 1 : v));
  const s = await clf.classify(x, n);
  const real = await clf.classify(heldOut.data, heldOut.n);
  const histogram = new Array<number>(10).fill(0);
  let confident = 0;
  for (let i = 0; i < n; i++) {
    const k = argmax(s.probs, i);
    histogram[k]!++;
    if (s.probs[i * 10 + k]! > 0.9) confident++;
  }
  const half = Math.floor(heldOut.n / 2),
    D = CLASSIFIER_FEATURES;
  return {
    n,
    histogram,
    confident: confident / n,
    frechet: frechetDistance(s.features, n, real.features, heldOut.n, D),
    frechetRealVsReal: frechetDistance(
      real.features.subarray(0, half * D),
      half,
      real.features.subarray(half * D, 2 * half * D),
      half,
      D,
    ),
  };
}
