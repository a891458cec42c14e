/**
 * Layers shared by score networks, written over a ParamScope: dense and conv layers with
 * PyTorch's default initialization, and the Gaussian Fourier time embedding of Tancik et al.
 * 2020 / Song et al. 2021 (fixed random frequencies W ~ N(0, scale²), not trained).
 */
import * as E from "../engine/index.ts";
import { normal, torchDefaultBias, torchDefaultWeight, computeFans } from "../engine/init.ts";

export const weightInit: E.Init = (s, r, d) => torchDefaultWeight(s, r, d);
const biasInit =
  (fanIn: number): E.Init =>
  (s, r, d) =>
    torchDefaultBias(s, fanIn, r, d);

/** y = x Wᵀ + b: x [..., in] → [..., out]. */
export function dense(ps: E.ParamScope, x: E.Tensor, out: number, bias = true): E.Tensor {
  const inDim = x.shape[x.rank - 1]!;
  const w = ps.param("weight", [out, inDim], weightInit);
  return E.linear(x, w, bias ? ps.param("bias", [out], biasInit(inDim)) : undefined);
}

/** 2-D convolution layer: x [N,C,H,W] → [N,out,H',W']; weight [out,C,k,k]. */
export function conv(
  ps: E.ParamScope,
  x: E.Tensor,
  out: number,
  k: number,
  opts: { stride?: number; padding?: number; bias?: boolean } = {},
): E.Tensor {
  const w = ps.param("weight", [out, x.shape[1]!, k, k], weightInit);
  const y = E.conv2d(x, w, { stride: opts.stride ?? 1, padding: opts.padding ?? 0 });
  if (opts.bias === false) return y;
  const b = ps.param("bias", [out], biasInit(computeFans(w.shape).fanIn));
  return E.add(y, E.reshape(b, [1, out, 1, 1]));
}

/** Transposed convolution layer; weight [C, out, k, k] (PyTorch layout). */
export function convT(
  ps: E.ParamScope,
  x: E.Tensor,
  out: number,
  k: number,
  opts: { stride?: number; padding?: number; outputPadding?: number; bias?: boolean } = {},
): E.Tensor {
  const w = ps.param("weight", [x.shape[1]!, out, k, k], weightInit);
  const y = E.convTranspose2d(x, w, {
    stride: opts.stride ?? 1,
    padding: opts.padding ?? 0,
    outputPadding: opts.outputPadding ?? 0,
  });
  if (opts.bias === false) return y;
  const b = ps.param("bias", [out], biasInit(computeFans([w.shape[1]!, w.shape[0]!, k, k]).fanIn));
  return E.add(y, E.reshape(b, [1, out, 1, 1]));
}

/**
 * Gaussian Fourier features of a scalar condition c [n] → [n, dim]:
 * [sin(2π c W), cos(2π c W)] with W [dim/2] ~ N(0, scale²) fixed at initialization.
 */
export function gaussianFourier(ps: E.ParamScope, c: E.Tensor, dim: number, scale: number): E.Tensor {
  const w = ps.param("W", [dim / 2], (s, r, d) => normal(s, scale, r, { dtype: d }), { trainable: false });
  const p = E.mul(E.matmul(E.reshape(c, [-1, 1]), E.reshape(w, [1, -1])), 2 * Math.PI);
  return E.concat([E.sin(p), E.cos(p)], 1);
}
