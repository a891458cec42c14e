/**
 * A small MNIST classifier, used to measure sample quality (class histogram, confidence, and a
 * Fréchet distance between its penultimate features of samples and of real digits):
 * conv 1→32 (3×3) · ReLU · conv 32→64 (3×3, stride 2) · ReLU · conv 64→64 (3×3, stride 2) · ReLU ·
 * dense 3136→128 (the features) · ReLU · dense 128→10. x [n, 1, 28, 28] in [-1, 1].
 */
import * as E from "../engine/index.ts";
import { conv, dense } from "./layers.ts";

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
