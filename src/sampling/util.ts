import type { Rng } from "../rng.ts";
import type { ScoreModel } from "../score.ts";
import { timeVector } from "../sde/reverse.ts";

/** Score at a common time t for all n rows: x [n·dim] → [n·dim]. */
export function scoreAt(model: ScoreModel, x: Float64Array, t: number, n: number): Promise<Float64Array> {
  return model.score(x, timeVector(t, n), n);
}

/** m + c·z elementwise, with z fresh standard normals from rng (c = 0 draws nothing). */
export function addNoise(m: Float64Array, c: number, rng: Rng): Float64Array {
  if (c === 0) return m;
  const out = rng.normals(m.length) as Float64Array;
  for (let i = 0; i < m.length; i++) out[i] = m[i]! + c * out[i]!;
  return out;
}

/** p·x + q·y elementwise (y may be the same array as x). */
export function lincomb(p: number, x: Float64Array, q: number, y: Float64Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = p * x[i]! + q * y[i]!;
  return out;
}

/** steps + 1 equally spaced times from `from` to `to` inclusive. */
export function timeGrid(from: number, to: number, steps: number): Float64Array {
  const g = new Float64Array(steps + 1);
  for (let i = 0; i <= steps; i++) g[i] = from + ((to - from) * i) / steps;
  g[steps] = to;
  return g;
}

/** Mean over rows of the per-row Euclidean norm: a [n·dim] → scalar. */
export function meanRowNorm(a: Float64Array, n: number): number {
  const dim = a.length / n;
  let total = 0;
  for (let i = 0; i < n; i++) {
    let sq = 0;
    for (let j = i * dim; j < (i + 1) * dim; j++) sq += a[j]! * a[j]!;
    total += Math.sqrt(sq);
  }
  return total / n;
}

/** Throws a clear error unless v is a positive integer. */
export function checkPositiveInt(owner: string, field: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${owner}: "${field}" must be a positive integer (got ${v})`);
}
