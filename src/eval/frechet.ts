/**
 * Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017, as in FID):
 * d² = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^{1/2}), with Tr((Σ₁Σ₂)^{1/2}) = Tr((√Σ₁ Σ₂ √Σ₁)^{1/2})
 * computed from symmetric eigendecompositions (ml-matrix), so no non-symmetric square root is needed.
 */
import { EigenvalueDecomposition, Matrix } from "ml-matrix";

/** Mean [d] and unbiased covariance [d×d] of n rows of dimension d (row-major). */
export function meanCov(x: ArrayLike<number>, n: number, d: number): { mean: Float64Array; cov: Matrix } {
  if (n < 2 || x.length !== n * d)
    throw new Error(`meanCov: need n ≥ 2 rows of ${d} values, got ${x.length} values for n = ${n}`);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += x[i * d + j]! / n;
  const cov = new Matrix(d, d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = x[i * d + j]! - mean[j]!;
    for (let a = 0; a < d; a++) for (let b = a; b < d; b++) cov.set(a, b, cov.get(a, b) + row[a]! * row[b]!);
  }
  for (let a = 0; a < d; a++)
    for (let b = a; b < d; b++) {
      const v = cov.get(a, b) / (n - 1);
      cov.set(a, b, v);
      cov.set(b, a, v);
    }
  return { mean, cov };
}

/** Symmetric PSD square root via eigendecomposition (negative rounding errors clipped to 0). */
function sqrtPsd(m: Matrix): Matrix {
  const e = new EigenvalueDecomposition(m, { assumeSymmetric: true });
  const v = e.eigenvectorMatrix;
  const s = Matrix.diag(e.realEigenvalues.map((l) => Math.sqrt(Math.max(l, 0))));
  return v.mmul(s).mmul(v.transpose());
}

/** Fréchet distance d² between N(μ₁, Σ₁) and N(μ₂, Σ₂). */
export function frechetFromStats(
  a: { mean: Float64Array; cov: Matrix },
  b: { mean: Float64Array; cov: Matrix },
): number {
  let dm = 0;
  for (let j = 0; j < a.mean.length; j++) dm += (a.mean[j]! - b.mean[j]!) ** 2;
  const r = sqrtPsd(a.cov);
  const inner = new EigenvalueDecomposition(r.mmul(b.cov).mmul(r), { assumeSymmetric: true });
  const trSqrt = inner.realEigenvalues.reduce((s, l) => s + Math.sqrt(Math.max(l, 0)), 0);
  return dm + a.cov.trace() + b.cov.trace() - 2 * trSqrt;
}

/** Fréchet distance between two sets of feature rows. */
export function frechetDistance(x: ArrayLike<number>, nx: number, y: ArrayLike<number>, ny: number, d: number): number {
  return frechetFromStats(meanCov(x, nx, d), meanCov(y, ny, d));
}
