import { cholesky, choleskyInverse, choleskyLogDet } from "./linalg.ts";
import { GaussianMixture } from "./mixture.ts";

const LOG_2PI = Math.log(2 * Math.PI);

/** Component k's covariance as a full d×d matrix (diagonal mixtures expanded). */
function fullCov(m: GaussianMixture, k: number): Float64Array {
  const d = m.dim,
    C = new Float64Array(d * d);
  if (m.kind === "full") C.set(m.cov.subarray(k * d * d, (k + 1) * d * d));
  else for (let j = 0; j < d; j++) C[j * d + j] = m.cov[k * d + j]!;
  return C;
}

/** The exact conditional p(x_B | x_A = y_A) of a Gaussian mixture, over the unknown coordinates B. */
export interface ConditionalMixture {
  /** The conditional, a Gaussian mixture in |B| dimensions (full covariances). */ mixture: GaussianMixture;
  /** Indices of the unknown coordinates B, ascending (the conditional's coordinate order). */ unknown: number[];
}

/**
 * Conditions a Gaussian mixture on known coordinates: p(x_B | x_A = y_A) = Σ_k w'_k N(m_k, S_k) with
 * w'_k ∝ w_k N(y_A; μ_kA, Σ_kAA), m_k = μ_kB + Σ_kBA Σ_kAA⁻¹ (y_A − μ_kA) and the Schur complement
 * S_k = Σ_kBB − Σ_kBA Σ_kAA⁻¹ Σ_kAB (Bishop, PRML §2.3.1, per component). known [|A|] coordinate
 * indices, values [|A|] their values.
 */
export function conditionMixture(
  m: GaussianMixture,
  known: readonly number[],
  values: ArrayLike<number>,
): ConditionalMixture {
  const d = m.dim,
    K = m.K;
  if (known.length !== values.length)
    throw new Error(`conditionMixture: ${known.length} known indices but ${values.length} values`);
  const isKnown = new Uint8Array(d);
  for (const i of known) {
    if (!Number.isInteger(i) || i < 0 || i >= d)
      throw new Error(`conditionMixture: known index ${i} is outside 0…${d - 1}`);
    if (isKnown[i]) throw new Error(`conditionMixture: known index ${i} is listed twice`);
    isKnown[i] = 1;
  }
  const A = [...known],
    B = [...Array(d).keys()].filter((i) => !isKnown[i]);
  if (B.length === 0) throw new Error("conditionMixture: every coordinate is known; nothing to sample");
  const a = A.length,
    b = B.length;
  const logW = new Float64Array(K),
    means = new Float64Array(K * b),
    covs = new Float64Array(K * b * b);
  for (let k = 0; k < K; k++) {
    const C = fullCov(m, k),
      mu = m.means.subarray(k * d, (k + 1) * d);
    const Saa = new Float64Array(a * a),
      Sba = new Float64Array(b * a);
    A.forEach((i, r) =>
      A.forEach((j, c) => {
        Saa[r * a + c] = C[i * d + j]!;
      }),
    );
    B.forEach((i, r) =>
      A.forEach((j, c) => {
        Sba[r * a + c] = C[i * d + j]!;
      }),
    );
    const diff = Float64Array.from(A, (i, r) => values[r]! - mu[i]!);
    let P: Float64Array = new Float64Array(0),
      logDet = 0;
    if (a > 0) {
      const L = cholesky(Saa, a);
      if (!L)
        throw new Error(
          `conditionMixture: component ${k}'s covariance of the known coordinates is not positive definite`,
        );
      P = choleskyInverse(L, a);
      logDet = choleskyLogDet(L, a);
    }
    const Pd = new Float64Array(a); // Σ_AA⁻¹ (y_A − μ_A)
    for (let r = 0; r < a; r++) for (let c = 0; c < a; c++) Pd[r]! += P[r * a + c]! * diff[c]!;
    let quad = 0;
    for (let r = 0; r < a; r++) quad += diff[r]! * Pd[r]!;
    logW[k] = Math.log(m.weights[k]!) - 0.5 * (a * LOG_2PI + logDet + quad);
    const G = new Float64Array(b * a); // Σ_BA Σ_AA⁻¹
    for (let r = 0; r < b; r++)
      for (let c = 0; c < a; c++) for (let j = 0; j < a; j++) G[r * a + c]! += Sba[r * a + j]! * P[j * a + c]!;
    for (let r = 0; r < b; r++) {
      let s = mu[B[r]!]!;
      for (let j = 0; j < a; j++) s += Sba[r * a + j]! * Pd[j]!;
      means[k * b + r] = s;
      for (let c = 0; c <= r; c++) {
        let v = C[B[r]! * d + B[c]!]!;
        for (let j = 0; j < a; j++) v -= G[r * a + j]! * Sba[c * a + j]!;
        covs[k * b * b + r * b + c] = v;
        covs[k * b * b + c * b + r] = v;
      }
    }
  }
  const max = Math.max(...logW);
  const w = logW.map((l) => Math.exp(l - max));
  const total = w.reduce((s, v) => s + v, 0);
  return {
    mixture: new GaussianMixture(
      b,
      w.map((v) => v / total),
      means,
      "full",
      covs,
    ),
    unknown: B,
  };
}
