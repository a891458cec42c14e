import { cholesky } from "./linalg.ts";
import { GaussianMixture } from "./mixture.ts";

/**
 * JSON description of a Gaussian mixture:
 * `{"weights":[w_1,…,w_K], "means":[[μ_1…],…], "stds":[[σ_1…],…]}` (diagonal: per-coordinate stds)
 * or `… "covs":[[[Σ_1 row 1],…],…]` (full symmetric positive-definite covariances).
 */
export interface MixtureSpec {
  weights: number[];
  means: number[][];
  stds?: number[][];
  covs?: number[][][];
}

const EXAMPLE = `{"weights":[0.5,0.5],"means":[[-2,0],[2,0]],"stds":[[0.5,0.5],[0.5,0.5]]}`;

function fail(field: string, problem: string, fix: string): never {
  throw new Error(`mixture spec: "${field}" ${problem}; ${fix} (example: ${EXAMPLE})`);
}

function numberArray(v: unknown, field: string, len: number | null, what: string): number[] {
  if (!Array.isArray(v)) fail(field, `must be an array of ${what}`, `write it as a JSON array`);
  if (len !== null && v.length !== len)
    fail(field, `has ${v.length} entries but needs ${len}`, `give exactly ${len} numbers`);
  v.forEach((x, i) => {
    if (typeof x !== "number" || !Number.isFinite(x))
      fail(`${field}[${i}]`, `must be a finite number (got ${JSON.stringify(x)})`, `replace it with a number`);
  });
  return v as number[];
}

function rows(v: unknown, field: string, K: number): unknown[] {
  if (!Array.isArray(v))
    fail(field, "must be an array with one entry per component", `give ${K} entries, one per weight`);
  if (v.length !== K) fail(field, `has ${v.length} entries but "weights" has ${K}`, `give one entry per component`);
  return v;
}

function parseWeights(v: unknown): Float64Array {
  const w = numberArray(v, "weights", null, "non-negative numbers");
  if (w.length === 0) fail("weights", "is empty", "give at least one component weight");
  w.forEach((x, i) => {
    if (x < 0) fail(`weights[${i}]`, `is negative (${x})`, "weights must be ≥ 0");
  });
  const sum = w.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > 1e-6) fail("weights", `sum to ${sum}, not 1`, "divide each weight by their sum");
  return Float64Array.from(w, (x) => x / sum);
}

function parseMeans(v: unknown, K: number): { dim: number; means: Float64Array } {
  const r = rows(v, "means", K);
  const first = r[0];
  if (!Array.isArray(first) || first.length === 0)
    fail("means[0]", "must be a non-empty array of coordinates", "give each mean as [x1, x2, …]");
  const dim = first.length;
  const means = new Float64Array(K * dim);
  r.forEach((m, k) => means.set(numberArray(m, `means[${k}]`, dim, "coordinates"), k * dim));
  return { dim, means };
}

function parseStds(v: unknown, K: number, dim: number): Float64Array {
  const r = rows(v, "stds", K);
  const variances = new Float64Array(K * dim);
  r.forEach((s, k) =>
    numberArray(s, `stds[${k}]`, dim, "per-coordinate standard deviations").forEach((x, j) => {
      if (!(x > 0)) fail(`stds[${k}][${j}]`, `must be positive (got ${x})`, "use a standard deviation > 0");
      variances[k * dim + j] = x * x;
    }),
  );
  return variances;
}

function parseCovs(v: unknown, K: number, dim: number): Float64Array {
  const r = rows(v, "covs", K);
  const covs = new Float64Array(K * dim * dim);
  r.forEach((c, k) => {
    if (!Array.isArray(c) || c.length !== dim)
      fail(`covs[${k}]`, `must be a ${dim}×${dim} matrix (array of ${dim} rows)`, "match the dimension of the means");
    c.forEach((row, i) => covs.set(numberArray(row, `covs[${k}][${i}]`, dim, "matrix entries"), (k * dim + i) * dim));
    for (let i = 0; i < dim; i++)
      for (let j = 0; j < i; j++) {
        const a = covs[(k * dim + i) * dim + j]!,
          b = covs[(k * dim + j) * dim + i]!;
        if (Math.abs(a - b) > 1e-9 * Math.max(1, Math.abs(a)))
          fail(`covs[${k}]`, `is not symmetric ([${i}][${j}]=${a} vs [${j}][${i}]=${b})`, "make the matrix symmetric");
      }
    if (!cholesky(covs.subarray(k * dim * dim, (k + 1) * dim * dim), dim))
      fail(`covs[${k}]`, "is not positive definite", "use a symmetric matrix with positive eigenvalues");
  });
  return covs;
}

/** Validates a mixture spec (a JSON string or a parsed object) and builds the mixture. */
export function parseMixtureSpec(input: string | unknown): GaussianMixture {
  let spec: unknown = input;
  if (typeof input === "string") {
    try {
      spec = JSON.parse(input);
    } catch (e) {
      throw new Error(`mixture spec: not valid JSON (${(e as Error).message}); example: ${EXAMPLE}`);
    }
  }
  if (typeof spec !== "object" || spec === null || Array.isArray(spec))
    throw new Error(`mixture spec: must be a JSON object; example: ${EXAMPLE}`);
  const o = spec as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!["weights", "means", "stds", "covs"].includes(key))
      fail(key, "is not a known field", `use only "weights", "means" and one of "stds" / "covs"`);
  }
  const weights = parseWeights(o.weights);
  const K = weights.length;
  const { dim, means } = parseMeans(o.means, K);
  const hasStds = o.stds !== undefined,
    hasCovs = o.covs !== undefined;
  if (hasStds === hasCovs)
    fail(
      hasStds ? "stds/covs" : "stds",
      hasStds ? "are both given" : "is missing",
      `give exactly one of "stds" (diagonal) or "covs" (full)`,
    );
  return hasStds
    ? new GaussianMixture(dim, weights, means, "diag", parseStds(o.stds, K, dim))
    : new GaussianMixture(dim, weights, means, "full", parseCovs(o.covs, K, dim));
}
