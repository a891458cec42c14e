import type { Rng } from "../rng.ts";

/**
 * Uniform dequantization of discrete data (Theis et al. 2016; Song et al. 2021 App. D.2).
 *
 * Integer values k ∈ {0, …, levels−1} become u = k + U, U ~ Uniform[0,1)^dim, a real number in
 * [0, levels); then x = scale·u + shift is fed to the model (scale = 1/256, shift = 0 maps to
 * [0,1); scale = 2/256, shift = −1 maps to [−1,1)). Since the map is affine,
 * log p_u(u) = log p_x(x) + dim·log(scale) — that is `logJacobian` — and by Jensen
 * log P(k) ≥ E_U[log p_u(k + U)], so −(log p_x + logJacobian)/(dim·ln 2) is an upper bound on the
 * discrete bits/dim. Equivalently bpd_u = bpd_x + `bpdOffset(scale)` with bpdOffset = −log₂(scale)
 * (8 for [0,1), 7 for [−1,1), as in score_sde).
 */
export function uniformDequantize(
  values: ArrayLike<number>,
  n: number,
  rng: Rng,
  opts: { levels?: number; scale?: number; shift?: number } = {},
): { x: Float64Array; logJacobian: number } {
  const levels = opts.levels ?? 256,
    scale = opts.scale ?? 1 / levels,
    shift = opts.shift ?? 0;
  if (values.length % n !== 0)
    throw new Error(`uniformDequantize: ${values.length} values are not n=${n} rows of equal length`);
  if (!(scale > 0)) throw new Error(`uniformDequantize: "scale" must be > 0 (got ${scale})`);
  const dim = values.length / n;
  const x = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const k = values[i]!;
    if (!Number.isInteger(k) || k < 0 || k >= levels)
      throw new Error(
        `uniformDequantize: value ${k} at index ${i} is not an integer in [0, ${levels}); pass raw integer data (e.g. 8-bit pixels)`,
      );
    x[i] = scale * (k + rng.uniform()) + shift;
  }
  return { x, logJacobian: dim * Math.log(scale) };
}

/** bits/dim offset −log₂(scale) for data x = scale·u + shift with u in [0, levels). */
export function bpdOffset(scale: number): number {
  return -Math.log2(scale);
}
