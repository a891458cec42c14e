/**
 * A small NCSN++ / DDPM++-style residual U-Net (after Song et al. 2021 App. H and Ho et al. 2020),
 * sized for MNIST on a CPU: residual blocks (GroupNorm · SiLU · 3×3 conv, time embedding added
 * between the two convolutions, skip rescaled by 1/√2), strided-conv downsampling, transposed-conv
 * upsampling with skip connections, and self-attention at the lowest resolution. Gaussian Fourier
 * time embedding (scale 16, as NCSN++) with a 2-layer MLP; optional class-label embedding.
 *
 * For 28×28 input and channels [32, 64, 64]: 28 → 14 → 7 (attention at 7×7) → 14 → 28.
 */
import * as E from "../engine/index.ts";
import { conv, convT, dense, gaussianFourier } from "./layers.ts";
import { type Labels, addLabelEmbedding, groupNormLayer } from "./scorenet.ts";

export interface NcsnppConfig {
  kind: "ncsnpp";
  /** Channels per resolution, highest first; each level after the first halves the resolution. */
  channels: number[];
  /** Residual blocks per resolution on the way down (the way up has one more, as in DDPM). */
  blocks: number;
  /** Time-embedding width. */
  embed: number;
  fourierScale: number;
  inChannels: number;
}

export const NCSNPP_DEFAULTS: NcsnppConfig = {
  kind: "ncsnpp",
  channels: [32, 64, 64],
  blocks: 1,
  embed: 128,
  fourierScale: 16,
  inChannels: 1,
};

const groupsFor = (c: number) => Math.min(32, Math.max(1, Math.floor(c / 4)));
const SQRT1_2 = Math.SQRT1_2;

/** DDPM++ residual block: x [n,C,H,W], e [n, embed] → [n, out, H, W]. */
function resBlock(ps: E.ParamScope, x: E.Tensor, e: E.Tensor, out: number): E.Tensor {
  const c = x.shape[1]!;
  let h = conv(ps.scope("conv0"), E.silu(groupNormLayer(ps.scope("norm0"), x, groupsFor(c))), out, 3, { padding: 1 });
  h = E.add(h, E.reshape(dense(ps.scope("temb"), e, out), [-1, out, 1, 1]));
  h = conv(ps.scope("conv1"), E.silu(groupNormLayer(ps.scope("norm1"), h, groupsFor(out))), out, 3, { padding: 1 });
  const skip = c === out ? x : conv(ps.scope("skip"), x, out, 1);
  return E.mul(E.add(skip, h), SQRT1_2);
}

/** Single-head self-attention over the H·W positions, with a residual connection rescaled by 1/√2. */
function attention(ps: E.ParamScope, x: E.Tensor): E.Tensor {
  const [n, c, hh, ww] = x.shape as [number, number, number, number];
  const hw = hh * ww;
  const tokens = E.transpose(E.reshape(groupNormLayer(ps.scope("norm"), x, groupsFor(c)), [n, c, hw]), [0, 2, 1]); // [n, HW, C]
  const q = dense(ps.scope("q"), tokens, c),
    k = dense(ps.scope("k"), tokens, c),
    v = dense(ps.scope("v"), tokens, c);
  const w = E.softmax(E.mul(E.matmul(q, E.transpose(k, [0, 2, 1])), 1 / Math.sqrt(c)), 2); // [n, HW, HW]
  const o = dense(ps.scope("proj"), E.matmul(w, v), c); // [n, HW, C]
  return E.mul(E.add(x, E.reshape(E.transpose(o, [0, 2, 1]), [n, c, hh, ww])), SQRT1_2);
}

/** x [n, C, H, W] (H, W divisible by 2^(levels−1)), c [n] → [n, C, H, W]. */
export function ncsnpp(cfg: NcsnppConfig, ps: E.ParamScope, x: E.Tensor, c: E.Tensor, labels?: Labels): E.Tensor {
  const ch = cfg.channels,
    L = ch.length;
  const emb0 = dense(
    ps.scope("embed.1"),
    gaussianFourier(ps.scope("embed.0"), c, cfg.embed, cfg.fourierScale),
    cfg.embed,
  );
  const e = dense(ps.scope("embed.2"), E.silu(addLabelEmbedding(ps, emb0, labels)), cfg.embed);
  let h = conv(ps.scope("conv_in"), x, ch[0]!, 3, { padding: 1 });
  const skips: E.Tensor[] = [h];
  for (let i = 0; i < L; i++) {
    if (i > 0) {
      h = conv(ps.scope(`down.${i}.downsample`), h, h.shape[1]!, 3, { stride: 2, padding: 1 });
      skips.push(h);
    }
    for (let b = 0; b < cfg.blocks; b++) {
      h = resBlock(ps.scope(`down.${i}.block.${b}`), h, e, ch[i]!);
      if (i === L - 1) h = attention(ps.scope(`down.${i}.attn.${b}`), h);
      skips.push(h);
    }
  }
  h = resBlock(ps.scope("mid.block.0"), h, e, ch[L - 1]!);
  h = attention(ps.scope("mid.attn"), h);
  h = resBlock(ps.scope("mid.block.1"), h, e, ch[L - 1]!);
  for (let i = L - 1; i >= 0; i--) {
    for (let b = 0; b <= cfg.blocks; b++) {
      h = resBlock(ps.scope(`up.${i}.block.${b}`), E.concat([h, skips.pop()!], 1), e, ch[i]!);
      if (i === L - 1) h = attention(ps.scope(`up.${i}.attn.${b}`), h);
    }
    if (i > 0) h = convT(ps.scope(`up.${i}.upsample`), h, h.shape[1]!, 3, { stride: 2, padding: 1, outputPadding: 1 });
  }
  h = E.silu(groupNormLayer(ps.scope("norm_out"), h, groupsFor(h.shape[1]!)));
  return conv(ps.scope("conv_out"), h, cfg.inChannels, 3, { padding: 1 });
}
