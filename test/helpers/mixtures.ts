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
