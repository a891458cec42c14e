/**
 * Latent interpolation through the probability-flow ODE (Song et al. 2021, §4.3): encode two inputs
 * to x(T), interpolate the latents spherically (they are near-Gaussian, so slerp keeps their norm
 * typical), decode every frame.
 */
import { decode, encode, type OdeLikelihoodOptions } from "../likelihood/likelihood.ts";
import type { ScoreModel } from "../score.ts";
import type { Sde } from "../sde/types.ts";

/**
 * Spherical interpolation of two vectors a, b [dim] at α ∈ [0, 1]:
 * (sin((1−α)θ)·a + sin(αθ)·b)/sin θ with θ the angle between them (linear when θ ≈ 0 or π).
 */
export function slerp(a: Float64Array, b: Float64Array, alpha: number): Float64Array {
  if (a.length !== b.length) throw new Error(`slerp: vectors of lengths ${a.length} and ${b.length}`);
  if (alpha === 0) return Float64Array.from(a);
  if (alpha === 1) return Float64Array.from(b);
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  const cos = Math.max(-1, Math.min(1, ab / Math.sqrt(aa * bb)));
  const theta = Math.acos(cos),
    sin = Math.sin(theta);
  const [p, q] = sin < 1e-6 ? [1 - alpha, alpha] : [Math.sin((1 - alpha) * theta) / sin, Math.sin(alpha * theta) / sin];
  return a.map((v, i) => p * v + q * b[i]!);
}

export interface Interpolation {
  /** Decoded frames [frames·dim], frame 0 ≈ a and the last ≈ b. */ x: Float64Array;
  /** The latents of a and b [2·dim]. */ latents: Float64Array;
  /** Score evaluations (encoding and decoding). */ nfe: number;
}

/** Encodes a, b [dim] with the probability-flow ODE, slerps their latents at `frames` ≥ 2 evenly spaced α, decodes. */
export async function interpolate(
  model: ScoreModel,
  sde: Sde,
  a: Float64Array,
  b: Float64Array,
  frames: number,
  opts: OdeLikelihoodOptions = {},
): Promise<Interpolation> {
  const dim = model.dim;
  if (a.length !== dim || b.length !== dim)
    throw new Error(`interpolate: inputs have ${a.length} and ${b.length} entries but the model's dimension is ${dim}`);
  if (!Number.isInteger(frames) || frames < 2)
    throw new Error(`interpolate: "frames" must be an integer ≥ 2 (got ${frames})`);
  const both = new Float64Array(2 * dim);
  both.set(a, 0);
  both.set(b, dim);
  const enc = await encode(model, sde, both, 2, opts);
  const za = enc.z.subarray(0, dim),
    zb = enc.z.subarray(dim);
  const z = new Float64Array(frames * dim);
  for (let f = 0; f < frames; f++) z.set(slerp(za, zb, f / (frames - 1)), f * dim);
  const dec = await decode(model, sde, z, frames, opts);
  return { x: dec.x, latents: enc.z, nfe: enc.nfe + dec.nfe };
}
