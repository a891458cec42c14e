/**
 * The one interface between score models (neural, via the engine, or analytic oracles) and the
 * mathematics that uses them (samplers, likelihoods, controllable generation).
 *
 * Layout: a batch of n points of dimension `dim` is one row-major Float64Array of length n·dim
 * (images are flattened C·H·W per row). Times are continuous t ∈ [eps, T] of the SDE, one per row.
 */
export interface ScoreModel {
  /** Dimension of one data point (2 for toy data, C·H·W for images). */
  readonly dim: number;
  /** s(x, t) ≈ ∇ₓ log p_t(x): x [n·dim], t [n] → [n·dim]. */
  score(x: Float64Array, t: Float64Array, n: number): Promise<Float64Array>;
  /**
   * The score and, per row, the vector–Jacobian product vᵀ ∂s(x,t)/∂x (same layout as x).
   * Divergences use it: exact (dim basis vectors) or Hutchinson–Skilling (random v).
   */
  scoreVjp(
    x: Float64Array,
    t: Float64Array,
    n: number,
    v: Float64Array,
  ): Promise<{ score: Float64Array; vjp: Float64Array }>;
  /** Number of score evaluations made so far (a scoreVjp call counts as one). */
  nfe: number;
}

/** A time-dependent (noise-conditional) classifier p_t(y | x(t)). */
export interface NoisyClassifier {
  /** Dimension of one input row. */ readonly dim: number;
  /** Number of classes (labels 0 … classes−1). */ readonly classes: number;
  /** log p_t(y_i | x_i) [n] and its gradient ∇ₓ log p_t(y_i | x_i) [n·dim]: x [n·dim], t [n], y [n]. */
  logProbGrad(
    x: Float64Array,
    t: Float64Array,
    n: number,
    y: Int32Array,
  ): Promise<{ logp: Float64Array; grad: Float64Array }>;
  /** Optional: the gradient and vᵀ∇ₓ² log p_t(y | x) per row (needed only for likelihoods of guided models). */
  gradVjp?(
    x: Float64Array,
    t: Float64Array,
    n: number,
    y: Int32Array,
    v: Float64Array,
  ): Promise<{ grad: Float64Array; vjp: Float64Array }>;
}

/**
 * `model` with `before()` awaited ahead of every evaluation (score and scoreVjp); its numbers and nfe
 * are the model's. Used to let the event loop run between evaluations, or to take turns with another
 * process in a benchmark.
 */
export function beforeEachEvaluation(model: ScoreModel, before: () => Promise<void>): ScoreModel {
  return {
    dim: model.dim,
    get nfe() {
      return model.nfe;
    },
    set nfe(v: number) {
      model.nfe = v;
    },
    score: async (x, t, n) => {
      await before();
      return model.score(x, t, n);
    },
    scoreVjp: async (x, t, n, v) => {
      await before();
      return model.scoreVjp(x, t, n, v);
    },
  };
}
