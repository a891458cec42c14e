/**
 * Colorization by decoupling (Song et al. 2021, App. I.3): an orthogonal 3×3 map M per pixel turns
 * RGB into (gray, two chroma coordinates) with the gray coordinate u₀ = (R+G+B)/√3 = √3·gray; that
 * coordinate is the known part of an inpainting problem in the transformed space:
 * x ← Mᵀ·[a(t)·√3·gray + s(t)·z, (M x)₁, (M x)₂] after every update. M being orthogonal, Mz is again
 * standard normal, so the forward perturbation is exact in either space.
 */
import type { Constraint } from "../sampling/types.ts";

const R3 = Math.sqrt(3),
  R2 = Math.sqrt(2),
  R6 = Math.sqrt(6);
/** Rows of M (orthonormal): gray direction, then two chroma directions. */
export const DECOUPLE: readonly (readonly [number, number, number])[] = [
  [1 / R3, 1 / R3, 1 / R3],
  [1 / R2, -1 / R2, 0],
  [1 / R6, 1 / R6, -2 / R6],
];

/** Gray = mean of the three channels: x [n·3·h·w] → [n·h·w]. */
export function toGray(x: ArrayLike<number>, n: number, h: number, w: number): Float64Array {
  const p = h * w,
    out = new Float64Array(n * p);
  if (x.length !== n * 3 * p)
    throw new Error(`toGray: expected RGB images [${n}·3·${h}·${w}], got ${x.length} entries`);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < p; j++)
      out[i * p + j] = (x[i * 3 * p + j]! + x[(i * 3 + 1) * p + j]! + x[(i * 3 + 2) * p + j]!) / 3;
  return out;
}

/**
 * The colorization constraint for n RGB images [n·3·h·w]: their gray (channel mean) is pinned to
 * `gray` [n·h·w] (forward-perturbed during sampling, exact at the end).
 */
export function grayConstraint(gray: ArrayLike<number>, n: number, h: number, w: number): Constraint {
  const p = h * w;
  if (gray.length !== n * p)
    throw new Error(`colorization: gray images must be [${n}·${h}·${w}], got ${gray.length} entries`);
  return {
    impose(x, a, s, z) {
      if (x.length !== n * 3 * p)
        throw new Error(
          `colorization: the state has ${x.length} entries but ${n} RGB images of ${h}×${w} need ${n * 3 * p}`,
        );
      const out = new Float64Array(x.length);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < p; j++) {
          const o = i * 3 * p + j,
            rgb = [x[o]!, x[o + p]!, x[o + 2 * p]!];
          const u = DECOUPLE.map((row) => row[0] * rgb[0]! + row[1] * rgb[1]! + row[2] * rgb[2]!);
          // the gray coordinate's noise: the first transformed coordinate of the pixel's z
          const zg = z ? DECOUPLE[0]![0] * z[o]! + DECOUPLE[0]![1] * z[o + p]! + DECOUPLE[0]![2] * z[o + 2 * p]! : 0;
          u[0] = a * R3 * gray[i * p + j]! + s * zg;
          for (let c = 0; c < 3; c++)
            out[o + c * p] = DECOUPLE[0]![c]! * u[0]! + DECOUPLE[1]![c]! * u[1]! + DECOUPLE[2]![c]! * u[2]!;
        }
      return out;
    },
  };
}
