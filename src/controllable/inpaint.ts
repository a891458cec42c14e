/**
 * Inpainting / imputation (Song et al. 2021, App. I.2): known entries of x are fixed by a mask; after
 * every predictor and corrector update the known part is replaced by a forward-perturbed copy
 * a(t)·y + s(t)·z of the data (the replacement method), and the final known part equals y exactly.
 * It is an approximation of sampling p(x_unknown | x_known): for Gaussian mixtures the exact
 * conditional is available (conditionMixture) and `sampleExactConditional` draws from it.
 */
import { conditionMixture } from "../oracle/conditional.ts";
import type { GaussianMixture } from "../oracle/mixture.ts";
import type { Rng } from "../rng.ts";
import type { ScoreModel } from "../score.ts";
import { type AnySamplerOptions, getSampler } from "../sampling/registry.ts";
import type { CommonSampleOptions, Constraint, SampleResult } from "../sampling/types.ts";
import type { Sde } from "../sde/types.ts";

/**
 * The constraint "x_i = y_i wherever known_i = 1": data y [n·dim] (values at unknown entries are
 * ignored), known [n·dim] 0/1 per entry (rows may differ).
 */
export function maskConstraint(y: ArrayLike<number>, known: Uint8Array): Constraint {
  if (y.length !== known.length)
    throw new Error(
      `inpainting: data has ${y.length} entries but the mask has ${known.length}; give one mask entry per data entry`,
    );
  const idx = Int32Array.from([...known.keys()].filter((i) => known[i]));
  for (const i of idx)
    if (!Number.isFinite(y[i]!))
      throw new Error(`inpainting: known entry ${i} of the data is ${y[i]}; known entries must be finite numbers`);
  return {
    impose(x, a, s, z) {
      if (x.length !== known.length)
        throw new Error(`inpainting: the state has ${x.length} entries but the mask has ${known.length}`);
      const out = Float64Array.from(x);
      for (const i of idx) out[i] = a * y[i]! + (z ? s * z[i]! : 0);
      return out;
    },
  };
}

/** Repeats rows [dim] of `a` (m rows) `k` times each: [m·dim] → [m·k·dim] (row i of a → rows i·k … i·k+k−1). */
export function repeatRows<T extends Float64Array | Uint8Array>(a: T, m: number, k: number): T {
  const dim = a.length / m;
  const out = new (a.constructor as new (n: number) => T)(m * k * dim);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < k; j++) out.set(a.subarray(i * dim, (i + 1) * dim), (i * k + j) * dim);
  return out;
}

/**
 * Runs registered sampler `name` with a constraint (inpainting, colorization). Samplers that do not
 * honor `CommonSampleOptions.constraint` are refused rather than silently ignoring it.
 */
export async function sampleConstrained(
  name: string,
  model: ScoreModel,
  sde: Sde,
  constraint: Constraint,
  opts: CommonSampleOptions & AnySamplerOptions,
): Promise<SampleResult> {
  let calls = 0;
  const counted: Constraint = {
    impose: (x, a, s, z) => {
      calls++;
      return constraint.impose(x, a, s, z);
    },
  };
  const r = await getSampler(name).run(model, sde, { ...opts, constraint: counted });
  if (calls < 2)
    throw new Error(
      `sampler "${name}" does not support inpainting/colorization constraints; use one built on the PC loop (pc, em, ancestral, ddim, ald) or ode`,
    );
  return r;
}

/**
 * Exact conditional samples of a Gaussian mixture: for each of the m rows of y [m·dim] with known
 * mask [m·dim], k draws of p(x_B | x_A = y_A) with the known entries copied: → [m·k·dim].
 */
export function sampleExactConditional(
  mixture: GaussianMixture,
  y: Float64Array,
  known: Uint8Array,
  m: number,
  k: number,
  rng: Rng,
): Float64Array {
  const d = mixture.dim;
  if (y.length !== m * d || known.length !== m * d)
    throw new Error(
      `exact conditional: data and mask must be [${m}·${d}], got ${y.length} and ${known.length} entries`,
    );
  const out = new Float64Array(m * k * d);
  for (let i = 0; i < m; i++) {
    const A: number[] = [],
      vals: number[] = [];
    for (let j = 0; j < d; j++)
      if (known[i * d + j]) {
        A.push(j);
        vals.push(y[i * d + j]!);
      }
    const rows = out.subarray(i * k * d, (i + 1) * k * d);
    for (let r = 0; r < k; r++) for (const j of A) rows[r * d + j] = y[i * d + j]!;
    if (A.length === d) continue;
    const cond = conditionMixture(mixture, A, vals);
    const draws = cond.mixture.sample(rng, k).x,
      b = cond.unknown.length;
    for (let r = 0; r < k; r++)
      cond.unknown.forEach((j, c) => {
        rows[r * d + j] = draws[r * b + c]!;
      });
  }
  return out;
}

/** Named image masks (1 = known pixel), for images C×H×W: the known region. */
export const MASK_NAMES = ["top-half", "bottom-half", "left-half", "right-half", "center-box"] as const;
export type MaskName = (typeof MASK_NAMES)[number];

/**
 * A named mask [c·h·w] (the same for every channel): 1 where the pixel is KNOWN. "center-box" knows
 * the central h/2 × w/2 box; `invert` swaps known and unknown (e.g. fill a central hole).
 */
export function namedMask(name: string, c: number, h: number, w: number, invert = false): Uint8Array {
  const known = (i: number, j: number): boolean => {
    switch (name as MaskName) {
      case "top-half":
        return i < h / 2;
      case "bottom-half":
        return i >= h / 2;
      case "left-half":
        return j < w / 2;
      case "right-half":
        return j >= w / 2;
      case "center-box":
        return i >= h / 4 && i < h - h / 4 && j >= w / 4 && j < w - w / 4;
      default:
        throw new Error(`unknown mask "${name}"; use one of ${MASK_NAMES.join(", ")} or a PNG file`);
    }
  };
  const m = new Uint8Array(c * h * w);
  for (let k = 0; k < c; k++)
    for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) m[(k * h + i) * w + j] = known(i, j) !== invert ? 1 : 0;
  return m;
}
