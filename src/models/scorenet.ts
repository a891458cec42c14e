/**
 * The score-SDE tutorial's ScoreNet for 28×28 images (Song et al. 2021, the MNIST tutorial): a
 * U-Net with channels 32/64/128/256, Gaussian Fourier time embedding (scale 30) followed by a dense
 * layer, a dense projection of the embedding added in every block, GroupNorm and swish. Matches
 * the PyTorch version in ../shared/bench/torch_reference.py layer for layer (1,115,297 trainable
 * parameters for 1 channel and no labels).
 *
 * Shapes for 28×28: 28 →conv1 26 →conv2 12 →conv3 5 →conv4 2 →tconv4 5 →tconv3 12 →tconv2 26 →tconv1 28.
 * The raw output h plays the role of −ε̂ (the tutorial returns h / std(t) as the score), so the
 * spec's parameterization is "eps" with the sign folded into the last layer: out = −h.
 */
import * as E from "../engine/index.ts";
import { normal, ones, zeros } from "../engine/init.ts";
import { conv, convT, dense, gaussianFourier } from "./layers.ts";

export interface ScoreNetConfig {
  kind: "scorenet";
  channels: [number, number, number, number];
  embed: number;
  fourierScale: number;
  /** Image channels (1 for MNIST). */
  inChannels: number;
}

export const SCORENET_DEFAULTS: ScoreNetConfig = {
  kind: "scorenet",
  channels: [32, 64, 128, 256],
  embed: 256,
  fourierScale: 30,
  inChannels: 1,
};

/** GroupNorm layer with affine parameters (weight = 1, bias = 0 at init, as PyTorch). */
export function groupNormLayer(ps: E.ParamScope, x: E.Tensor, groups: number): E.Tensor {
  const c = x.shape[1]!;
  return E.groupNorm(
    x,
    groups,
    ps.param("weight", [c], (s, _r, d) => ones(s, d)),
    ps.param("bias", [c], (s, _r, d) => zeros(s, d)),
  );
}

/** Class-label conditioning: labels y [n] int64 in [0, classes). */
export interface Labels {
  y: E.Tensor;
  classes: number;
}

/** Adds a learned embedding of the class label to the time embedding emb [n, d] (no-op without labels). */
export function addLabelEmbedding(ps: E.ParamScope, emb: E.Tensor, labels?: Labels): E.Tensor {
  if (!labels) return emb;
  const table = ps.param("label_embed.weight", [labels.classes, emb.shape[1]!], (s, r, d) =>
    normal(s, 1, r, { dtype: d }),
  );
  return E.add(emb, E.gather(table, labels.y));
}

/** x [n, C, 28, 28], c [n] (time), optional labels → [n, C, 28, 28]. */
export function scoreNet(cfg: ScoreNetConfig, ps: E.ParamScope, x: E.Tensor, c: E.Tensor, labels?: Labels): E.Tensor {
  const [c1, c2, c3, c4] = cfg.channels;
  const emb = dense(
    ps.scope("embed.1"),
    gaussianFourier(ps.scope("embed.0"), c, cfg.embed, cfg.fourierScale),
    cfg.embed,
  );
  const e = E.silu(addLabelEmbedding(ps, emb, labels));
  const block = (h: E.Tensor, i: number, maxGroups: number) => {
    const n = h.shape[1]!;
    // Exactly the tutorial's 4 / 32 groups (its GroupNorm(32, 32) block has one channel per group).
    // Models narrower than that keep ≥ 2 channels per group: the embedding is a per-channel shift,
    // which a one-channel group would normalize away.
    const groups = n >= maxGroups ? maxGroups : Math.max(1, Math.floor(n / 2));
    const t = E.reshape(dense(ps.scope(`dense.${i}`), e, n), [-1, n, 1, 1]);
    return E.silu(groupNormLayer(ps.scope(`norms.${i}`), E.add(h, t), groups));
  };
  const h1 = block(conv(ps.scope("conv1"), x, c1, 3, { bias: false }), 0, 4);
  const h2 = block(conv(ps.scope("conv2"), h1, c2, 3, { stride: 2, bias: false }), 1, 32);
  const h3 = block(conv(ps.scope("conv3"), h2, c3, 3, { stride: 2, bias: false }), 2, 32);
  const h4 = block(conv(ps.scope("conv4"), h3, c4, 3, { stride: 2, bias: false }), 3, 32);
  let h = block(convT(ps.scope("tconv4"), h4, c3, 3, { stride: 2, bias: false }), 4, 32);
  h = block(
    convT(ps.scope("tconv3"), E.concat([h, h3], 1), c2, 3, { stride: 2, outputPadding: 1, bias: false }),
    5,
    32,
  );
  h = block(
    convT(ps.scope("tconv2"), E.concat([h, h2], 1), c1, 3, { stride: 2, outputPadding: 1, bias: false }),
    6,
    32,
  );
  h = convT(ps.scope("tconv1"), E.concat([h, h1], 1), cfg.inChannels, 3);
  return E.neg(h);
}
