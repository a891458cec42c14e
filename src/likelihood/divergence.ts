import type { Rng } from "../rng.ts";
import type { ScoreModel } from "../score.ts";
import { timeVector } from "../sde/reverse.ts";

/**
 * Divergence estimators of the score, ∇ₓ·s(x,t) = tr(∂s/∂x), from vector–Jacobian products
 * (Grathwohl et al. 2019, FFJORD; Song et al. 2021 App. D.2). Each costs ONE `scoreVjp` call: the
 * m probe vectors per point are batched as m replicas of the batch (rows r·n + i).
 */
export interface DivergenceResult {
  /** s(x, t) [n·dim]. */ score: Float64Array;
  /** Divergence (or its estimate) per row [n]. */ div: Float64Array;
}

/**
 * tr(∂s/∂x) ≈ w·Σ_r v_rᵀ (∂s/∂x) v_r for m probe vectors per point: w = 1 with the dim basis
 * vectors (exact trace), w = 1/m with random probes (Hutchinson mean).
 * probes: [m·n·dim], replica-major (probe r of point i at rows r·n + i).
 */
export async function divergenceFromProbes(
  model: ScoreModel,
  x: Float64Array,
  t: number,
  n: number,
  probes: Float64Array,
  m: number,
  w: number,
): Promise<DivergenceResult> {
  const dim = model.dim,
    rowLen = n * dim;
  const xs = new Float64Array(m * rowLen);
  for (let r = 0; r < m; r++) xs.set(x, r * rowLen);
  const { score, vjp } = await model.scoreVjp(xs, timeVector(t, m * n), m * n, probes);
  const div = new Float64Array(n);
  for (let r = 0; r < m; r++) {
    for (let i = 0; i < n; i++) {
      let acc = 0;
      const base = r * rowLen + i * dim;
      for (let j = 0; j < dim; j++) acc += vjp[base + j]! * probes[base + j]!;
      div[i]! += w * acc;
    }
  }
  return { score: score.slice(0, rowLen), div };
}

/** The dim standard basis vectors for every point: [dim·n·dim], replica j holds e_j. */
export function basisProbes(n: number, dim: number): Float64Array {
  const p = new Float64Array(dim * n * dim);
  for (let j = 0; j < dim; j++) for (let i = 0; i < n; i++) p[j * n * dim + i * dim + j] = 1;
  return p;
}

/** Probe distributions for Hutchinson–Skilling: Rademacher (±1) or standard Gaussian. */
export type ProbeKind = "rademacher" | "gaussian";

/** m random probes per point, [m·n·dim]; E[v vᵀ] = I for both kinds. */
export function randomProbes(kind: ProbeKind, rng: Rng, m: number, n: number, dim: number): Float64Array {
  const len = m * n * dim;
  if (kind === "rademacher") return rng.rademachers(len) as Float64Array;
  if (kind === "gaussian") return rng.normals(len) as Float64Array;
  throw new Error(`unknown Hutchinson probe "${String(kind)}"; use "rademacher" or "gaussian"`);
}

/**
 * A divergence function for one ODE solve: exact (dim basis VJPs, multiplying the batch by dim) or
 * Hutchinson–Skilling with probes drawn once and kept fixed for the whole solve (so the ODE is
 * deterministic and the log-density estimate unbiased).
 */
export function makeDivergence(
  model: ScoreModel,
  n: number,
  mode: "exact" | "hutchinson",
  probe: ProbeKind,
  probeCount: number,
  rng: Rng | undefined,
) {
  const dim = model.dim;
  let probes: Float64Array, m: number, w: number;
  if (mode === "exact") {
    probes = basisProbes(n, dim);
    m = dim;
    w = 1;
  } else {
    if (!rng)
      throw new Error(
        `likelihood: Hutchinson divergence needs an "rng" option (e.g. new Rng(seed)) to draw its probes`,
      );
    if (!Number.isInteger(probeCount) || probeCount < 1)
      throw new Error(`likelihood: "probes" must be a positive integer (got ${probeCount})`);
    probes = randomProbes(probe, rng, probeCount, n, dim);
    m = probeCount;
    w = 1 / probeCount;
  }
  return (x: Float64Array, t: number) => divergenceFromProbes(model, x, t, n, probes, m, w);
}
