import type { Rng } from "../rng.ts";
import type { LinearSdeSpec, Sde } from "./types.ts";

const LOG_2PI = Math.log(2 * Math.PI);

/** Elementwise c·x for a scalar c: x [m] → [m]. */
export function scaled(x: Float64Array, c: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = c * x[i]!;
  return out;
}

/** log N(z; 0, σ² I) per row, in nats: z [n·dim] → [n]. */
export function isotropicGaussianLogProb(z: Float64Array, n: number, dim: number, sigma: number): Float64Array {
  const out = new Float64Array(n);
  const norm = -0.5 * dim * (LOG_2PI + 2 * Math.log(sigma));
  for (let i = 0; i < n; i++) {
    let sq = 0;
    for (let j = 0; j < dim; j++) {
      const v = z[i * dim + j]!;
      sq += v * v;
    }
    out[i] = norm - sq / (2 * sigma * sigma);
  }
  return out;
}

/**
 * The exact forward transition of a linear SDE from time s to t > s:
 * x(t) | x(s) ~ N(ratio·x(s), G2·I) with ratio = a(t)/a(s) and G2 = s(t)² − ratio²·s(s)²
 * (variances of independent Gaussian increments add). Clamped at 0 against round-off.
 */
export function transitionKernel(
  sde: Pick<LinearSdeSpec, "meanCoef" | "std">,
  s: number,
  t: number,
): { ratio: number; G2: number } {
  const ratio = sde.meanCoef(t) / sde.meanCoef(s);
  const st = sde.std(t),
    ss = sde.std(s);
  return { ratio, G2: Math.max(st * st - ratio * ratio * ss * ss, 0) };
}

/** Builds the full `Sde` (drift, prior, discretize) from the closed-form coefficients of a linear SDE. */
export function linearSde(spec: LinearSdeSpec): Sde {
  return {
    ...spec,
    drift: (x, t) => scaled(x, spec.driftCoef(t)),
    priorSample: (rng: Rng, n, dim) => scaled(rng.normals(n * dim) as Float64Array, spec.priorStd),
    priorLogProb: (z, n, dim) => isotropicGaussianLogProb(z, n, dim, spec.priorStd),
    discretize(x, t, dt) {
      const { ratio, G2 } = transitionKernel(spec, Math.max(t - dt, 0), t);
      return { f: scaled(x, ratio - 1), G: Math.sqrt(G2) };
    },
  };
}

/** Throws a clear error unless `value` is a finite number satisfying `ok`. */
export function checkParam(
  owner: string,
  field: string,
  value: number,
  ok: (v: number) => boolean,
  rule: string,
): void {
  if (!Number.isFinite(value) || !ok(value)) {
    throw new Error(
      `${owner}: option "${field}" must be ${rule} (got ${value}); pass a valid "${field}" or omit it for the default`,
    );
  }
}
