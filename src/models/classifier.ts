/**
 * A small MNIST classifier, used to measure sample quality (class histogram, confidence, and a
 * Fréchet distance between its penultimate features of samples and of real digits):
 * conv 1→32 (3×3) · ReLU · conv 32→64 (3×3, stride 2) · ReLU · conv 64→64 (3×3, stride 2) · ReLU ·
 * dense 3136→128 (the features) · ReLU · dense 128→10. x [n, 1, 28, 28] in [-1, 1].
 */
import * as E from "../engine/index.ts";
import { conv, dense, gaussianFourier } from "./layers.ts";

export const CLASSIFIER_FEATURES = 128;

export function traceClassifier(ps: E.ParamScope, x: E.Tensor, classes = 10): { logits: E.Tensor; features: E.Tensor } {
  let h = E.relu(conv(ps.scope("conv1"), x, 32, 3, { padding: 1 }));
  h = E.relu(conv(ps.scope("conv2"), h, 64, 3, { stride: 2, padding: 1 }));
  h = E.relu(conv(ps.scope("conv3"), h, 64, 3, { stride: 2, padding: 1 }));
  const features = dense(ps.scope("fc1"), E.reshape(h, [x.shape[0]!, -1]), CLASSIFIER_FEATURES);
  return { logits: dense(ps.scope("fc2"), E.relu(features), classes), features };
}

/** Mean cross-entropy of logits [n, K] against one-hot targets [n, K]. */
export function crossEntropy(logits: E.Tensor, onehot: E.Tensor): E.Tensor {
  return E.mean(E.sub(E.logSumExp(logits, [1]), E.sum(E.mul(logits, onehot), [1])));
}

/**
 * A noise-conditional classifier p_t(y | x(t)) for classifier guidance (Song et al. 2021, App. I.4):
 * the input is scaled by c_in = 1/√(a(t)² + s(t)²) (unit variance for unit-variance data at every t)
 * and the time enters through Gaussian Fourier features. "noisy-cnn" (images C×H×W): three 3×3 convs
 * (width, 2·width, 2·width; the last two stride 2) each plus a dense projection of the time embedding,
 * ReLU, then dense 128 and dense → classes. "noisy-mlp" (points): `layers` dense layers of `width`
 * each plus the time projection (SiLU), then dense → classes.
 */
export interface NoisyClassifierArch {
  kind: "noisy-cnn" | "noisy-mlp";
  dataShape: number[];
  classes: number;
  width: number;
  layers: number;
  embed: number;
  fourierScale: number;
}

export function noisyClassifierArch(
  dataShape: number[],
  classes: number,
  over: Partial<NoisyClassifierArch> = {},
): NoisyClassifierArch {
  const image = dataShape.length === 3;
  return {
    kind: image ? "noisy-cnn" : "noisy-mlp",
    dataShape: [...dataShape],
    classes,
    width: image ? 32 : 128,
    layers: 3,
    embed: 64,
    fourierScale: 16,
    ...over,
  };
}

/** x [n, ...dataShape], c [n] (time t), cin [n] (input scale) → logits [n, classes]. */
export function traceNoisyClassifier(
  arch: NoisyClassifierArch,
  ps: E.ParamScope,
  x: E.Tensor,
  c: E.Tensor,
  cin: E.Tensor,
): E.Tensor {
  const n = x.shape[0]!;
  const e = E.silu(
    dense(ps.scope("embed.1"), gaussianFourier(ps.scope("embed.0"), c, arch.embed, arch.fourierScale), arch.embed),
  );
  let h = E.mul(x, E.reshape(cin, [n, ...arch.dataShape.map(() => 1)]));
  if (arch.kind === "noisy-mlp") {
    for (let i = 0; i < arch.layers; i++)
      h = E.silu(E.add(dense(ps.scope(`layers.${i}`), h, arch.width), dense(ps.scope(`time.${i}`), e, arch.width)));
    return dense(ps.scope("out"), h, arch.classes);
  }
  const w = arch.width;
  [
    [w, 1],
    [2 * w, 2],
    [2 * w, 2],
  ].forEach(([out, stride], i) => {
    const t = E.reshape(dense(ps.scope(`time.${i}`), e, out!), [n, out!, 1, 1]);
    h = E.relu(E.add(conv(ps.scope(`conv${i + 1}`), h, out!, 3, { stride, padding: 1 }), t));
  });
  const features = E.relu(dense(ps.scope("fc1"), E.reshape(h, [n, -1]), CLASSIFIER_FEATURES));
  return dense(ps.scope("fc2"), features, arch.classes);
}

/** Per-row log-softmax picked at the one-hot class: logits [n, K], onehot [n, K] → [n]. */
export function logProbOfClass(logits: E.Tensor, onehot: E.Tensor): E.Tensor {
  return E.sub(E.sum(E.mul(logits, onehot), [1]), E.logSumExp(logits, [1]));
}
