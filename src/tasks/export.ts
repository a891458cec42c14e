/**
 * Export for serving: a trained run's score network as one standalone ONNX model (parameters as
 * initializers, opset 17), optionally with one Euler–Maruyama step of the reverse SDE around it,
 * so any ONNX runtime or server (ORT on CPU/GPU, Triton) can serve it without scoregen.
 *
 * Inputs and outputs (B = the batch size fixed at export; D = the data shape, e.g. [2] or [1,28,28];
 * float = the model's dtype, float32 unless trained in float64):
 *   x       float [B, …D]  the noisy data x(t)
 *   t       float [B]      diffusion time per row, in (0, T] (T = 1)
 *   y       int64 [B]      class per row (class-conditional models only)
 *   score   float [B, …D]  ∇ₓ log p_t(x), the network output converted from its parameterization
 * With the sampler step (Song et al. 2021 eq. 6, Euler–Maruyama on the reverse SDE from t to t − dt):
 *   dt      float [B]      step size > 0 (dt = T/N for N steps)
 *   z       float [B, …D]  standard normal noise
 *   x_mean  float [B, …D]  x − [f(x,t) − g(t)²·score]·dt
 *   x_next  float [B, …D]  x_mean + g(t)·√dt·z
 *
 * The SDE's marginal a(t), s(t), drift coefficient and g(t)² are traced into the graph in float64
 * from the closed forms of the run's SDE (a registry keyed by SDE name); their constants (β_min,
 * β_max, σ_min, σ_max) are read off the library's SDE object, and the test compares the result
 * with the library's score and predictor.
 */
import onnxProto from "onnx-proto";
import * as E from "../engine/index.ts";
import type { ParamTree } from "../engine/init.ts";
import { type ModelSpec, traceNetwork } from "../models/registry.ts";
import type { Sde } from "../sde/index.ts";

const { onnx } = onnxProto;
type T = E.Tensor;

/** The pieces of a linear SDE as traced float64 functions of t [B]. */
export interface TracedSde {
  /** log a(t) (mean coefficient). */
  logMeanCoef(t: T): T;
  /** s(t), the marginal std. */
  std(t: T): T;
  /** c(t) in the drift f(x,t) = c(t)·x. */
  driftCoef(t: T): T;
  /** g(t)². */
  diffusion2(t: T): T;
}

/** 1 − e^u for u ≤ 0 without cancellation near 0 (float64): the series below |u| < 1e-5. */
function oneMinusExp(u: T): T {
  const series = E.neg(E.add(u, E.mul(E.mul(u, u), 0.5)));
  return E.where(E.less(E.abs(u), 1e-5), series, E.sub(1, E.exp(u)));
}

/** VP / sub-VP: β(t) = β₀ + (t/T)(β₁ − β₀) read off the drift coefficient c(t) = −½β(t). */
function linearBeta(sde: Sde, subVp: boolean): TracedSde {
  const b0 = -2 * sde.driftCoef(0),
    b1 = -2 * sde.driftCoef(sde.T),
    T = sde.T;
  const beta = (t: T) => E.add(b0, E.mul(t, (b1 - b0) / T));
  const logA = (t: T) => E.sub(E.mul(E.mul(t, t), (-0.25 * (b1 - b0)) / T), E.mul(t, 0.5 * b0));
  return {
    logMeanCoef: logA,
    std: subVp ? (t) => oneMinusExp(E.mul(logA(t), 2)) : (t) => E.sqrt(oneMinusExp(E.mul(logA(t), 2))),
    driftCoef: (t) => E.mul(beta(t), -0.5),
    diffusion2: subVp ? (t) => E.mul(beta(t), oneMinusExp(E.mul(logA(t), 4))) : beta,
  };
}

/** VE: s(t) = σ_min (σ_max/σ_min)^(t/T), g² = s²·2 ln(σ_max/σ_min)/T; σ's read off the SDE. */
function ve(sde: Sde): TracedSde {
  const sMin = sde.std(0),
    logRatio = Math.log(sde.std(sde.T) / sMin),
    T = sde.T;
  const std = (t: T) => E.mul(E.exp(E.mul(t, logRatio / T)), sMin);
  return {
    logMeanCoef: (t) => E.mul(t, 0),
    std,
    driftCoef: (t) => E.mul(t, 0),
    diffusion2: (t) => E.mul(E.square(std(t)), (2 * logRatio) / T),
  };
}

/** Traced closed forms by SDE name. */
export const TRACED_SDES: Record<string, (sde: Sde) => TracedSde> = {
  vp: (sde) => linearBeta(sde, false),
  subvp: (sde) => linearBeta(sde, true),
  ve,
};

export interface ExportOptions {
  /** Rows per call (static; default 1). */
  batch?: number;
  /** Also export one reverse-SDE Euler–Maruyama step (inputs dt, z; outputs x_mean, x_next). */
  samplerStep?: boolean;
}

/** ONNX bytes of the score network of `spec` with `params` under `sde` (see the module comment). */
export function exportScoreModel(spec: ModelSpec, params: ParamTree, sde: Sde, opts: ExportOptions = {}): Uint8Array {
  const traced = TRACED_SDES[sde.name];
  if (!traced)
    throw new Error(`export: no traced form of the ${sde.name} SDE; known: ${Object.keys(TRACED_SDES).join(", ")}`);
  const ts = traced(sde);
  const B = opts.batch ?? 1,
    dt = spec.dtype,
    rowShape = [B, ...spec.dataShape.map(() => 1)];
  const ps = E.ParamScope.create(dt);
  const x = E.input("x", [B, ...spec.dataShape], dt),
    t = E.input("t", [B], dt);
  const y = spec.classes ? E.input("y", [B], "int64") : undefined;
  const t64 = E.cast(t, "float64");
  const logA = ts.logMeanCoef(t64),
    s = ts.std(t64);
  const cond = spec.condition === "logsigma" ? E.log(s) : t64;
  const out = traceNetwork(spec, ps, x, E.cast(cond, dt), y);
  // score = α·out + β·x with (α, β) of the parameterization (sde/parameterization.ts), per row
  const coef = scoreCoefficientsTraced(spec.parameterization, E.exp(logA), s);
  const perRow = (v: T) => E.reshape(E.cast(v, dt), rowShape);
  const score = E.add(E.mul(perRow(coef.alpha), out), E.mul(perRow(coef.beta), x));
  const outputs: Record<string, T> = { score };
  const inputs = [x, t, ...(y ? [y] : [])];
  if (opts.samplerStep) {
    const step = E.input("dt", [B], dt),
      z = E.input("z", [B, ...spec.dataShape], dt);
    const step64 = E.cast(step, "float64");
    const g2 = ts.diffusion2(t64);
    // x̄ = x − [c(t)·x − g²·score]·dt ;  x_next = x̄ + g·√dt·z
    const xMean = E.sub(
      x,
      E.sub(E.mul(perRow(E.mul(ts.driftCoef(t64), step64)), x), E.mul(perRow(E.mul(g2, step64)), score)),
    );
    outputs.x_mean = xMean;
    outputs.x_next = E.add(xMean, E.mul(perRow(E.sqrt(E.mul(g2, step64))), z));
    inputs.push(step, z);
  }
  const specs = ps.specs();
  const bytes = E.toOnnx({ inputs: [...specs.map((p) => p.node), ...inputs], outputs });
  return withParamsAsInitializers(
    bytes,
    spec,
    params,
    specs.map((p) => p.name),
  );
}

/** (α, β) of `scoreCoefficients` (sde/parameterization.ts) for per-row a(t), s(t) tensors. */
function scoreCoefficientsTraced(param: ModelSpec["parameterization"], a: T, s: T): { alpha: T; beta: T } {
  const zero = E.mul(s, 0);
  if (param === "score") return { alpha: E.add(zero, 1), beta: zero };
  if (param === "eps") return { alpha: E.neg(E.reciprocal(s)), beta: zero };
  return { alpha: E.div(a, E.square(s)), beta: E.neg(E.reciprocal(E.square(s))) };
}

/** Moves the parameter inputs of an ONNX model into initializers holding `params`. */
function withParamsAsInitializers(bytes: Uint8Array, spec: ModelSpec, params: ParamTree, names: string[]): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  const feeds = new Set(names.map((n) => E.paramFeed(n)));
  const type = spec.dtype === "float64" ? onnx.TensorProto.DataType.DOUBLE : onnx.TensorProto.DataType.FLOAT;
  for (const name of names) {
    const p = params.get(name);
    if (!p) throw new Error(`export: the checkpoint has no parameter '${name}'`);
    const data = spec.dtype === "float64" ? Float64Array.from(p.data) : Float32Array.from(p.data);
    graph.initializer ??= [];
    graph.initializer.push(
      onnx.TensorProto.create({
        name: E.paramFeed(name),
        dataType: type,
        dims: [...p.shape],
        rawData: new Uint8Array(data.buffer),
      }),
    );
  }
  graph.input = (graph.input ?? []).filter((i) => !feeds.has(i.name!));
  model.producerName = "scoregen export";
  model.docString = `scoregen score model (${spec.arch.kind}, ${spec.parameterization}-parameterized, data shape [${spec.dataShape.join(", ")}]); inputs x, t${spec.classes ? ", y" : ""}; output score`;
  return onnx.ModelProto.encode(model).finish();
}
