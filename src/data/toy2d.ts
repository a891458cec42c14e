/**
 * Built-in 2-D toy datasets for score-based generative modeling demos.
 *
 * Every sampler has the signature `(n, rng) => Float64Array` and returns n points as one
 * row-major n×2 array ([x0, y0, x1, y1, …]). All datasets are scaled to roughly unit scale:
 * every coordinate lies within about ±4, so one plotting window (e.g. [-4, 4]²) shows them all.
 * Noise levels are stated in these output units:
 *
 * | name           | geometry (output units)                                         | noise                    |
 * | -------------- | --------------------------------------------------------------- | ------------------------ |
 * | `swissroll`    | spiral r = θ/5, θ ~ U(1.5π, 4.5π), so r ∈ [0.94, 2.83]           | N(0, 0.1²) per coordinate |
 * | `moons`        | two half-circles of radius 2, centers (−1, −0.5) and (1, 0.5)    | N(0, 0.1²) per coordinate |
 * | `8gaussians`   | 8 equal-weight isotropic Gaussians, means on a circle of radius 2√2 | std 0.3 (the mixture itself) |
 * | `checkerboard` | uniform on the 8 "dark" cells of a 4×4 board of 1.5×1.5 cells on [−3, 3]² | none (exactly uniform)   |
 * | `rings`        | 3 concentric circles of radius 1, 2, 3; ring chosen ∝ radius (uniform per unit length) | N(0, 0.08²) per coordinate |
 * | `scurve`       | "S": two 3/4-circles of radius 1.5 centered (0, ±1.5), uniform in arc length | N(0, 0.1²) per coordinate |
 *
 * `8gaussians` has a closed-form density: {@link EIGHT_GAUSSIANS} is its exact mixture spec and
 * {@link mixtureLogDensity} evaluates log p(x) in nats.
 */
import type { Rng } from "../rng.ts";

/** Draws n points of a 2-D dataset: returns a row-major n×2 Float64Array. */
export type Sampler2D = (n: number, rng: Rng) => Float64Array;

/**
 * A diagonal-covariance Gaussian mixture in the JSON format used across scoregen:
 * `{"weights":[K], "means":[[K][D]], "stds":[[K][D]]}` (weights sum to 1, stds > 0).
 */
export interface GaussianMixtureSpec {
  weights: number[];
  means: number[][];
  stds: number[][];
}

function checkCount(n: number, name: string): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new Error(`${name}: the number of points must be a non-negative integer, got ${n}`);
  }
}

/** Swiss roll: spiral (θ cos θ, θ sin θ)/5 for θ ~ U(1.5π, 4.5π), plus N(0, 0.1²) noise. */
export function swissRoll(n: number, rng: Rng): Float64Array {
  checkCount(n, "swissroll");
  const out = new Float64Array(2 * n);
  const noise = 0.1;
  for (let i = 0; i < n; i++) {
    const theta = 1.5 * Math.PI * (1 + 2 * rng.uniform());
    out[2 * i] = (theta * Math.cos(theta)) / 5 + noise * rng.normal();
    out[2 * i + 1] = (theta * Math.sin(theta)) / 5 + noise * rng.normal();
  }
  return out;
}

/** Centers and radius of the two moons (output units); used by tests and plots. */
export const MOONS_GEOMETRY = {
  radius: 2,
  /** upper arc (y ≥ center y) */
  upperCenter: [-1, -0.5] as const,
  /** lower arc (y ≤ center y) */
  lowerCenter: [1, 0.5] as const,
  noise: 0.1,
};

/**
 * Two interleaved moons: half of the points (rounded up) on the upper half-circle of radius 2
 * centered (−1, −0.5), the rest on the lower half-circle centered (1, 0.5); angle uniform;
 * plus N(0, 0.1²) noise per coordinate. Points alternate upper/lower by index.
 */
export function twoMoons(n: number, rng: Rng): Float64Array {
  checkCount(n, "moons");
  const { radius, upperCenter, lowerCenter, noise } = MOONS_GEOMETRY;
  const out = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const a = Math.PI * rng.uniform();
    const upper = i % 2 === 0;
    const c = upper ? upperCenter : lowerCenter;
    const s = upper ? 1 : -1;
    out[2 * i] = c[0] + s * radius * Math.cos(a) + noise * rng.normal();
    out[2 * i + 1] = c[1] + s * radius * Math.sin(a) + noise * rng.normal();
  }
  return out;
}

/**
 * log-density of the two-moons distribution at (x, y), in nats. The density is a 1-D integral over
 * the arc angle a ~ U(0, π): p(x) = ½ Σ_moons (1/π) ∫₀^π N(x; c + s·r(cos a, sin a), σ² I) da, computed
 * by the midpoint rule with `nodes` points per arc (default 4000: spacing 8e-4 rad against an
 * integrand width σ/r = 0.05 rad, so the quadrature error is far below 1e-6 nats).
 */
export function moonsLogDensity(x: number, y: number, nodes = 4000): number {
  const { radius, upperCenter, lowerCenter, noise } = MOONS_GEOMETRY;
  const terms: number[] = [];
  for (const [c, s] of [
    [upperCenter, 1],
    [lowerCenter, -1],
  ] as const) {
    for (let k = 0; k < nodes; k++) {
      const a = (Math.PI * (k + 0.5)) / nodes;
      const dx = x - (c[0] + s * radius * Math.cos(a)),
        dy = y - (c[1] + s * radius * Math.sin(a));
      terms.push(-(dx * dx + dy * dy) / (2 * noise * noise));
    }
  }
  const m = Math.max(...terms);
  let sum = 0;
  for (const t of terms) sum += Math.exp(t - m);
  // mean over 2·nodes equally weighted Gaussians of variance σ² in 2-D
  return m + Math.log(sum / terms.length) - Math.log(2 * Math.PI * noise * noise);
}

/** The 8-gaussians mixture: radius 2√2, std 0.3, equal weights; means at angles kπ/4. */
export const EIGHT_GAUSSIANS: GaussianMixtureSpec = (() => {
  const radius = 2 * Math.SQRT2;
  const std = 0.3;
  const means: number[][] = [];
  for (let k = 0; k < 8; k++) {
    const a = (k * Math.PI) / 4;
    // exact zeros/±2 on the axes and diagonals (avoid cos(π/2) = 6e-17 noise)
    const r = (v: number) => Math.round(v * 1e12) / 1e12;
    means.push([r(radius * Math.cos(a)), r(radius * Math.sin(a))]);
  }
  return { weights: new Array<number>(8).fill(1 / 8), means, stds: means.map(() => [std, std]) };
})();

/** Validates a mixture spec (shapes, positive stds, weights summing to 1); throws a clear error. */
export function checkMixtureSpec(spec: GaussianMixtureSpec, name = "mixture"): number {
  const k = spec.weights.length;
  if (k === 0) throw new Error(`${name}: "weights" is empty; give at least one component`);
  if (spec.means.length !== k || spec.stds.length !== k) {
    throw new Error(
      `${name}: "weights" has ${k} entries but "means" has ${spec.means.length} and "stds" ${spec.stds.length}; all three need one entry per component`,
    );
  }
  const d = spec.means[0]!.length;
  let sum = 0;
  for (let j = 0; j < k; j++) {
    const w = spec.weights[j]!;
    if (!(w >= 0) || !Number.isFinite(w))
      throw new Error(`${name}: weights[${j}] = ${w}; weights must be finite and ≥ 0`);
    sum += w;
    if (spec.means[j]!.length !== d || spec.stds[j]!.length !== d) {
      throw new Error(
        `${name}: component ${j} has means of length ${spec.means[j]!.length} and stds of length ${spec.stds[j]!.length}; expected ${d} (the dimension of means[0])`,
      );
    }
    for (let i = 0; i < d; i++) {
      if (!Number.isFinite(spec.means[j]![i]!)) throw new Error(`${name}: means[${j}][${i}] is not a finite number`);
      const s = spec.stds[j]![i]!;
      if (!(s > 0) || !Number.isFinite(s))
        throw new Error(`${name}: stds[${j}][${i}] = ${s}; standard deviations must be finite and > 0`);
    }
  }
  if (Math.abs(sum - 1) > 1e-9) throw new Error(`${name}: weights sum to ${sum}; they must sum to 1`);
  return d;
}

/** n samples (row-major n×D) from a diagonal Gaussian mixture. */
export function sampleMixture(spec: GaussianMixtureSpec, n: number, rng: Rng): Float64Array {
  const d = checkMixtureSpec(spec);
  checkCount(n, "sampleMixture");
  const cdf: number[] = [];
  let acc = 0;
  for (const w of spec.weights) {
    acc += w;
    cdf.push(acc);
  }
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const u = rng.uniform() * acc;
    let j = 0;
    while (j < cdf.length - 1 && u > cdf[j]!) j++;
    const m = spec.means[j]!,
      s = spec.stds[j]!;
    for (let c = 0; c < d; c++) out[i * d + c] = m[c]! + s[c]! * rng.normal();
  }
  return out;
}

/** log p(x) in nats of a diagonal Gaussian mixture at one point x (length D); log-sum-exp stable. */
export function mixtureLogDensity(spec: GaussianMixtureSpec, x: ArrayLike<number>): number {
  const k = spec.weights.length;
  let max = -Infinity;
  const terms = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    const m = spec.means[j]!,
      s = spec.stds[j]!;
    let lp = Math.log(spec.weights[j]!);
    for (let c = 0; c < m.length; c++) {
      const z = (x[c]! - m[c]!) / s[c]!;
      lp -= 0.5 * z * z + Math.log(s[c]!) + 0.5 * Math.log(2 * Math.PI);
    }
    terms[j] = lp;
    if (lp > max) max = lp;
  }
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let j = 0; j < k; j++) sum += Math.exp(terms[j]! - max);
  return max + Math.log(sum);
}

/** 8 Gaussians: samples of {@link EIGHT_GAUSSIANS} (radius 2√2 ≈ 2.83, std 0.3). */
export function eightGaussians(n: number, rng: Rng): Float64Array {
  checkCount(n, "8gaussians");
  return sampleMixture(EIGHT_GAUSSIANS, n, rng);
}

/**
 * Checkerboard: uniform on the 8 cells (i + j even, i, j ∈ {0..3}) of a 4×4 board of
 * 1.5×1.5 cells covering [−3, 3]²; cell (i, j) spans x ∈ [−3 + 1.5i, −1.5 + 1.5i], same for y.
 * The density is exactly 1/18 on the board's dark cells and 0 elsewhere. No added noise.
 */
export function checkerboard(n: number, rng: Rng): Float64Array {
  checkCount(n, "checkerboard");
  const out = new Float64Array(2 * n);
  const cell = 1.5;
  for (let i = 0; i < n; i++) {
    const k = rng.int(8); // which dark cell: row j = k>>1, column i = 2·(k&1) + (j&1)
    const row = k >> 1;
    const col = 2 * (k & 1) + (row & 1);
    out[2 * i] = -3 + cell * (col + rng.uniform());
    out[2 * i + 1] = -3 + cell * (row + rng.uniform());
  }
  return out;
}

/** Radii of the concentric rings and their noise (output units). */
export const RINGS_GEOMETRY = { radii: [1, 2, 3] as const, noise: 0.08 };

/**
 * Concentric rings: circles of radius 1, 2 and 3; a point picks ring r with probability ∝ r
 * (uniform density per unit length), a uniform angle, and N(0, 0.08²) noise per coordinate.
 */
export function rings(n: number, rng: Rng): Float64Array {
  checkCount(n, "rings");
  const { radii, noise } = RINGS_GEOMETRY;
  const total = radii.reduce((a, b) => a + b, 0);
  const out = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    let u = rng.uniform() * total;
    let r = radii[radii.length - 1]!;
    for (const ri of radii) {
      if (u < ri) {
        r = ri;
        break;
      }
      u -= ri;
    }
    const a = 2 * Math.PI * rng.uniform();
    out[2 * i] = r * Math.cos(a) + noise * rng.normal();
    out[2 * i + 1] = r * Math.sin(a) + noise * rng.normal();
  }
  return out;
}

/** Geometry of the s-curve: two 3/4-circles of radius 1.5 centered (0, +1.5) and (0, −1.5). */
export const SCURVE_GEOMETRY = {
  radius: 1.5,
  centers: [
    [0, 1.5],
    [0, -1.5],
  ] as const,
  noise: 0.1,
};

/**
 * S-curve (the 2-D side view of the classic 3-D "S" manifold): for t ~ U(−3π/2, 3π/2),
 * (x, y) = 1.5·(sin t, sign(t)·(cos t − 1)): t < 0 traces the upper 3/4-circle centered (0, 1.5),
 * t > 0 the lower one centered (0, −1.5), uniform in arc length; plus N(0, 0.1²) noise per
 * coordinate. Spans x ∈ [−1.5, 1.5], y ∈ [−3, 3].
 */
export function sCurve(n: number, rng: Rng): Float64Array {
  checkCount(n, "scurve");
  const { radius, noise } = SCURVE_GEOMETRY;
  const out = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const t = 3 * Math.PI * (rng.uniform() - 0.5);
    const x = Math.sin(t);
    const y = Math.sign(t) * (Math.cos(t) - 1);
    out[2 * i] = radius * x + noise * rng.normal();
    out[2 * i + 1] = radius * y + noise * rng.normal();
  }
  return out;
}

/** Names of the built-in datasets, in registry order. */
export const TOY2D_NAMES = ["swissroll", "moons", "8gaussians", "checkerboard", "rings", "scurve"] as const;
export type Toy2DName = (typeof TOY2D_NAMES)[number];

export interface Toy2DInfo {
  name: Toy2DName;
  sample: Sampler2D;
  /** One line: geometry and noise level, in output units. */
  description: string;
  /** A square window [-extent, extent]² that contains essentially all samples. */
  extent: number;
  /** Exact mixture spec when the density is a Gaussian mixture (only `8gaussians`). */
  mixture?: GaussianMixtureSpec;
  /** The true log-density in nats, where it is known (closed form or exact quadrature). */
  logDensity?: (x: number, y: number) => number;
}

/** The registry of built-in datasets by name. */
export const TOY2D: Readonly<Record<Toy2DName, Toy2DInfo>> = {
  swissroll: {
    name: "swissroll",
    sample: swissRoll,
    extent: 3.5,
    description: "swiss roll: spiral r = θ/5, θ ∈ [1.5π, 4.5π], noise std 0.1",
  },
  moons: {
    name: "moons",
    sample: twoMoons,
    extent: 3.5,
    logDensity: (x, y) => moonsLogDensity(x, y),
    description: "two moons: half-circles of radius 2 centered (−1, −0.5) and (1, 0.5), noise std 0.1",
  },
  "8gaussians": {
    name: "8gaussians",
    sample: eightGaussians,
    extent: 4,
    mixture: EIGHT_GAUSSIANS,
    logDensity: (x, y) => mixtureLogDensity(EIGHT_GAUSSIANS, [x, y]),
    description: "8 gaussians: equal-weight isotropic Gaussians, std 0.3, means on a circle of radius 2√2",
  },
  checkerboard: {
    name: "checkerboard",
    sample: checkerboard,
    extent: 3.5,
    description: "checkerboard: uniform on the 8 dark cells of a 4×4 board on [−3, 3]², no noise",
  },
  rings: {
    name: "rings",
    sample: rings,
    extent: 3.75,
    description: "rings: circles of radius 1, 2, 3 (points ∝ radius), noise std 0.08",
  },
  scurve: {
    name: "scurve",
    sample: sCurve,
    extent: 3.5,
    description: "s-curve: two 3/4-circles of radius 1.5 centered (0, ±1.5), noise std 0.1",
  },
};

/** The built-in dataset called `name`, or undefined when there is none (no error). */
export function findToy2D(name: string): Toy2DInfo | undefined {
  return Object.hasOwn(TOY2D, name) ? TOY2D[name as Toy2DName] : undefined;
}

/** Looks up a dataset by name; an unknown name throws an error listing the valid names. */
export function toy2d(name: string): Toy2DInfo {
  const info = findToy2D(name);
  if (info) return info;
  throw new Error(`unknown 2-D dataset "${name}"; valid names: ${TOY2D_NAMES.join(", ")}`);
}

/** n points (row-major n×2) of the named dataset. */
export function sampleToy2D(name: string, n: number, rng: Rng): Float64Array {
  return toy2d(name).sample(n, rng);
}
