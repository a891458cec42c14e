/**
 * The Gaussian mixture the sampler, guidance and inpainting tests and their benchmarks share:
 * 2-D, three well-separated components, the third with a correlated full covariance.
 */
export const THREE_COMPONENTS = {
  weights: [0.5, 0.3, 0.2],
  means: [
    [-2, -1],
    [2, -1],
    [0, 2],
  ],
  covs: [
    [
      [0.16, 0],
      [0, 0.16],
    ],
    [
      [0.25, 0],
      [0, 0.09],
    ],
    [
      [0.09, 0.06],
      [0.06, 0.25],
    ],
  ],
};

/** n rows of the point with coordinate `j` known (= value), the rest unknown (NaN): data y and mask [n·2]. */
export function knownCoordinate(n: number, j: number, value: number) {
  const y = new Float64Array(n * 2),
    known = new Uint8Array(n * 2);
  for (let i = 0; i < n; i++) {
    y[i * 2 + j] = value;
    known[i * 2 + j] = 1;
    y[i * 2 + 1 - j] = NaN;
  }
  return { y, known };
}

/** A two-component 2-D mixture (diagonal stds) the command-line tests write as oracle:SPEC.json. */
export const CLI_MIXTURE = {
  weights: [0.4, 0.6],
  means: [
    [-1, 0],
    [1.5, 0.5],
  ],
  stds: [
    [0.4, 0.3],
    [0.3, 0.5],
  ],
};

/** A two-component 2-D mixture small MLPs learn in the loss tests (its exact score is the reference). */
export const TRAINING_MIXTURE = {
  weights: [0.3, 0.7],
  means: [
    [-1.5, 0],
    [1, 1],
  ],
  stds: [
    [0.3, 0.5],
    [0.6, 0.3],
  ],
};

/** A two-component 2-D mixture the sharded and Redis tests sample and evaluate. */
export const SHARD_MIXTURE = {
  weights: [0.3, 0.7],
  means: [
    [-2, 0],
    [2, 1],
  ],
  stds: [
    [0.5, 0.5],
    [0.3, 0.6],
  ],
};

/** Two equal, mirrored 2-D components (x₁ = ±1.5): the classes of the guidance tests. */
export const MIRRORED_PAIR = {
  weights: [0.5, 0.5],
  means: [
    [-1.5, 0],
    [1.5, 0],
  ],
  stds: [
    [0.4, 0.4],
    [0.4, 0.4],
  ],
};
