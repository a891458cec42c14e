/**
 * Score network for low-dimensional data: an MLP conditioned on time (or on log σ for NCSN) by
 * Gaussian Fourier features, each hidden layer adding a dense projection of the embedding:
 *   e = silu(dense(GFP(c)));  h ← silu(dense(h) + dense(e));  out = dense(h).
 * x [n, dim], c [n] → out [n, dim] (the raw output in the model's parameterization).
 */
import * as E from "../engine/index.ts";
import { dense, gaussianFourier } from "./layers.ts";

export interface MlpConfig {
  kind: "mlp";
  /** Data dimension. */
  dim: number;
  hidden: number;
  layers: number;
  /** Embedding width of the Gaussian Fourier features (even). */
  embed: number;
  /** Std of the random Fourier frequencies. */
  fourierScale: number;
}

export const MLP_DEFAULTS: Omit<MlpConfig, "dim"> = { kind: "mlp", hidden: 128, layers: 3, embed: 32, fourierScale: 4 };

export function mlpScoreNet(cfg: MlpConfig, ps: E.ParamScope, x: E.Tensor, c: E.Tensor): E.Tensor {
  const e = E.silu(
    dense(ps.scope("embed"), gaussianFourier(ps.scope("fourier"), c, cfg.embed, cfg.fourierScale), cfg.embed),
  );
  let h = x;
  for (let i = 0; i < cfg.layers; i++) {
    const s = ps.scope(`layers.${i}`);
    h = E.silu(E.add(dense(s.scope("dense"), h, cfg.hidden), dense(s.scope("time"), e, cfg.hidden)));
  }
  return dense(ps.scope("out"), h, cfg.dim);
}
