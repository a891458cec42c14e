/** Small dense linear algebra on row-major d×d Float64Array matrices. */

/**
 * Cholesky factor L (lower triangular, A = L Lᵀ) of a symmetric positive-definite matrix A [d·d].
 * Returns null when A is not (numerically) positive definite.
 */
export function cholesky(A: Float64Array, d: number): Float64Array | null {
  const L = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = A[i * d + j]!;
      for (let k = 0; k < j; k++) sum -= L[i * d + k]! * L[j * d + k]!;
      if (i === j) {
        if (!(sum > 0)) return null;
        L[i * d + i] = Math.sqrt(sum);
      } else {
        L[i * d + j] = sum / L[j * d + j]!;
      }
    }
  }
  return L;
}

/** log det A = 2 Σ log L_ii from a Cholesky factor L [d·d]. */
export function choleskyLogDet(L: Float64Array, d: number): number {
  let s = 0;
  for (let i = 0; i < d; i++) s += Math.log(L[i * d + i]!);
  return 2 * s;
}

/** A⁻¹ [d·d] from the Cholesky factor of A (solves L Lᵀ X = I column by column). */
export function choleskyInverse(L: Float64Array, d: number): Float64Array {
  const inv = new Float64Array(d * d);
  const y = new Float64Array(d);
  for (let c = 0; c < d; c++) {
    for (let i = 0; i < d; i++) {
      // forward: L y = e_c
      let s = i === c ? 1 : 0;
      for (let k = 0; k < i; k++) s -= L[i * d + k]! * y[k]!;
      y[i] = s / L[i * d + i]!;
    }
    for (let i = d - 1; i >= 0; i--) {
      // backward: Lᵀ x = y
      let s = y[i]!;
      for (let k = i + 1; k < d; k++) s -= L[k * d + i]! * inv[k * d + c]!;
      inv[i * d + c] = s / L[i * d + i]!;
    }
  }
  return inv;
}
