/** Sample-quality metrics against closed forms. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { frechetDistance, frechetFromStats } from "../src/eval/frechet.ts";
import { Matrix } from "ml-matrix";
import { Rng } from "../src/rng.ts";

test("Fréchet distance matches the closed form for diagonal and rotated Gaussians", () => {
  // diagonal: d² = ‖μ₁−μ₂‖² + Σ (σ₁ᵢ − σ₂ᵢ)²
  const a = { mean: Float64Array.of(0, 1, 2), cov: Matrix.diag([1, 4, 9]) };
  const b = { mean: Float64Array.of(1, 1, 0), cov: Matrix.diag([4, 1, 9]) };
  assert.ok(Math.abs(frechetFromStats(a, b) - (1 + 4 + (1 + 1 + 0))) < 1e-9);
  // commuting covariances in a rotated basis: still Σ (√λ₁ − √λ₂)²
  const c = Math.cos(0.7),
    s = Math.sin(0.7);
  const R = new Matrix([
    [c, -s],
    [s, c],
  ]);
  const rot = (d: number[]) => R.mmul(Matrix.diag(d)).mmul(R.transpose());
  const d2 = frechetFromStats(
    { mean: Float64Array.of(0, 0), cov: rot([1, 9]) },
    { mean: Float64Array.of(3, 4), cov: rot([4, 16]) },
  );
  assert.ok(Math.abs(d2 - (25 + 1 + 1)) < 1e-9, `rotated: ${d2}`);
});

test("Fréchet distance of samples: ~0 for two draws of one Gaussian, the mean shift for shifted draws", () => {
  const rng = new Rng(3),
    n = 4000,
    d = 4;
  const x = rng.normals(n * d) as Float64Array,
    y = rng.normals(n * d) as Float64Array;
  assert.ok(frechetDistance(x, n, y, n, d) < 0.02);
  const shifted = y.map((v, i) => (i % d === 0 ? v + 2 : v));
  assert.ok(Math.abs(frechetDistance(x, n, shifted, n, d) - 4) < 0.15);
});
