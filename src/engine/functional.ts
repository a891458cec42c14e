/**
 * Composite ops built from primitives (so their gradients, and gradients of gradients, follow
 * from the primitives' rules): softplus, SiLU/swish, log-sum-exp, group norm, dense layers.
 */
import {
  abs,
  add,
  exp,
  groupNormAffine,
  groupNormalize,
  log,
  matmul,
  max,
  mul,
  relu,
  reshape,
  sigmoid,
  siluPrimitive,
  stopGradient,
  sub,
  sum,
  traceVariants,
  transpose,
} from "./ops.ts";
import type { Tensor } from "./tensor.ts";

export const square = (x: Tensor) => mul(x, x);

/** log(1 + eˣ) computed stably as relu(x) + log(1 + e^{−|x|}) (ORT has no float64 Softplus). */
export const softplus = (x: Tensor) => add(relu(x), log(add(exp(mul(abs(x), -1)), 1)));

/** SiLU / swish: x·σ(x) (one primitive with a VJP that reuses the output, unless traceVariants() says otherwise). */
export const silu = (x: Tensor) => (traceVariants().silu === "primitive" ? siluPrimitive(x) : mul(x, sigmoid(x)));

/** log Σ exp(x) over `axes`, shifted by the (gradient-stopped) max for stability. */
export function logSumExp(x: Tensor, axes: readonly number[], keepdims = false): Tensor {
  const m = stopGradient(max(x, axes, true));
  const s = add(log(sum(exp(sub(x, m)), axes, true)), m);
  return keepdims
    ? s
    : reshape(
        s,
        x.shape.filter((_, i) => !axes.map((a) => (a < 0 ? a + x.rank : a)).includes(i)),
      );
}

/**
 * Group normalization (Wu & He 2018): x [N,C,...] normalized over (C/G channels × spatial) per
 * group, then scaled by gamma [C] and shifted by beta [C]. Biased variance, as in PyTorch.
 */
export function groupNorm(x: Tensor, groups: number, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  if (traceVariants().groupNormAffine === "primitive") return groupNormAffine(x, groups, gamma, beta, eps);
  const y = groupNormalize(x, groups, eps);
  const c = x.shape[1]!;
  const bshape = [1, c, ...x.shape.slice(2).map(() => 1)];
  return add(mul(y, reshape(gamma, bshape)), reshape(beta, bshape));
}

/** Dense layer y = x Wᵀ + b with W [out, in] (PyTorch layout), x [..., in]. */
export function linear(x: Tensor, w: Tensor, b?: Tensor): Tensor {
  const y = matmul(x, transpose(w, [1, 0]));
  return b ? add(y, b) : y;
}
