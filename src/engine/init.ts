/**
 * Parameter trees and seeded initializers (platform-neutral).
 *
 * A parameter tree is a flat `Map` from dotted names ("down.0.conv.weight") to row-major tensors.
 * Weight layouts follow PyTorch: dense `[out, in]`, conv `[O, C, kh, kw]` (conv-transpose weights
 * in PyTorch's `[C_in, C_out, kh, kw]` layout get PyTorch's fans from the same rule).
 *
 * Initializers draw from an explicit {@link Rng} in row-major order, so the same seed gives the
 * same numbers everywhere. Values are drawn in float64 and stored in the requested precision.
 * Checkpoint files (saveCheckpoint, loadCheckpoint) live in io/checkpoint.ts, on the Node side.
 */
import type { Rng } from "../rng.ts";
import { fmtShape, sizeOf } from "./tensor.ts";

export type ParamArray = Float32Array | Float64Array;

/** One parameter tensor: row-major `data` with `product(shape)` elements. */
export interface Param {
  shape: number[];
  data: ParamArray;
}

/** Flat parameter tree: dotted name → tensor. Iteration order is insertion order. */
export type ParamTree = Map<string, Param>;

export type ParamDtype = "float32" | "float64";

function alloc(shape: readonly number[], dtype: ParamDtype = "float32"): ParamArray {
  for (const d of shape)
    if (!Number.isSafeInteger(d) || d < 0)
      throw new Error(`invalid shape ${fmtShape(shape)}: dimensions must be non-negative integers`);
  const n = sizeOf(shape);
  return dtype === "float64" ? new Float64Array(n) : new Float32Array(n);
}

/**
 * Fans of a weight tensor, as PyTorch computes them: fan_in = shape[1]·receptive,
 * fan_out = shape[0]·receptive, receptive = product(shape[2:]). So dense [out, in] gives
 * (in, out) and conv [O, C, kh, kw] gives (C·kh·kw, O·kh·kw). Needs at least 2 dimensions.
 */
export function computeFans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2)
    throw new Error(
      `fan-in/fan-out need a weight with at least 2 dimensions ([out, in] or [O, C, kh, kw]), got shape ${fmtShape(shape)}`,
    );
  const receptive = sizeOf(shape.slice(2));
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

export type Nonlinearity = "linear" | "conv" | "sigmoid" | "tanh" | "relu" | "leaky_relu" | "selu";

/**
 * Recommended gain for a nonlinearity (PyTorch's `calculate_gain`): linear/conv/sigmoid 1,
 * tanh 5/3, relu √2, leaky_relu √(2/(1+slope²)) (slope defaults to 0.01), selu 3/4.
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case "linear":
    case "conv":
    case "sigmoid":
      return 1;
    case "tanh":
      return 5 / 3;
    case "relu":
      return Math.SQRT2;
    case "leaky_relu": {
      const a = param ?? 0.01;
      return Math.sqrt(2 / (1 + a * a));
    }
    case "selu":
      return 3 / 4;
  }
}

function fill(shape: readonly number[], dtype: ParamDtype | undefined, f: () => number): Param {
  const data = alloc(shape, dtype);
  for (let i = 0; i < data.length; i++) data[i] = f();
  return { shape: [...shape], data };
}

export function zeros(shape: readonly number[], dtype?: ParamDtype): Param {
  return { shape: [...shape], data: alloc(shape, dtype) };
}

export function ones(shape: readonly number[], dtype?: ParamDtype): Param {
  return constant(shape, 1, dtype);
}

export function constant(shape: readonly number[], value: number, dtype?: ParamDtype): Param {
  const p = zeros(shape, dtype);
  p.data.fill(value);
  return p;
}

/** N(mean, std²) elementwise. */
export function normal(
  shape: readonly number[],
  std: number,
  rng: Rng,
  opts: { mean?: number; dtype?: ParamDtype } = {},
): Param {
  if (!(std >= 0)) throw new Error(`normal init: std must be ≥ 0, got ${std}`);
  const mean = opts.mean ?? 0;
  return fill(shape, opts.dtype, () => mean + std * rng.normal());
}

/** U(a, b) elementwise. */
export function uniform(shape: readonly number[], a: number, b: number, rng: Rng, dtype?: ParamDtype): Param {
  if (!(b >= a)) throw new Error(`uniform init: need a ≤ b, got a=${a}, b=${b}`);
  return fill(shape, dtype, () => a + (b - a) * rng.uniform());
}

/** Glorot & Bengio 2010: U(±gain·√(6/(fan_in+fan_out))). */
export function xavierUniform(
  shape: readonly number[],
  rng: Rng,
  opts: { gain?: number; dtype?: ParamDtype } = {},
): Param {
  const { fanIn, fanOut } = computeFans(shape);
  const bound = (opts.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(shape, -bound, bound, rng, opts.dtype);
}

/** Glorot & Bengio 2010: N(0, gain²·2/(fan_in+fan_out)). */
export function xavierNormal(
  shape: readonly number[],
  rng: Rng,
  opts: { gain?: number; dtype?: ParamDtype } = {},
): Param {
  const { fanIn, fanOut } = computeFans(shape);
  return normal(shape, (opts.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut)), rng, { dtype: opts.dtype });
}

export interface KaimingOptions {
  /** Negative slope of the leaky ReLU that follows (used when nonlinearity is leaky_relu; default 0). */
  a?: number;
  /** Preserve the variance of activations ("fan_in", default) or of gradients ("fan_out"). */
  mode?: "fan_in" | "fan_out";
  /** Default "leaky_relu" (with a = 0 that is ReLU's gain √2), as in PyTorch. */
  nonlinearity?: Nonlinearity;
  dtype?: ParamDtype;
}

function kaimingStd(shape: readonly number[], o: KaimingOptions): number {
  const { fanIn, fanOut } = computeFans(shape);
  const fan = (o.mode ?? "fan_in") === "fan_in" ? fanIn : fanOut;
  if (fan === 0) throw new Error(`kaiming init: shape ${fmtShape(shape)} has a zero fan`);
  return calculateGain(o.nonlinearity ?? "leaky_relu", o.a ?? 0) / Math.sqrt(fan);
}

/** He et al. 2015: U(±√3·gain/√fan), as PyTorch's `kaiming_uniform_`. */
export function kaimingUniform(shape: readonly number[], rng: Rng, opts: KaimingOptions = {}): Param {
  const bound = Math.sqrt(3) * kaimingStd(shape, opts);
  return uniform(shape, -bound, bound, rng, opts.dtype);
}

/** He et al. 2015: N(0, gain²/fan), as PyTorch's `kaiming_normal_`. */
export function kaimingNormal(shape: readonly number[], rng: Rng, opts: KaimingOptions = {}): Param {
  return normal(shape, kaimingStd(shape, opts), rng, { dtype: opts.dtype });
}

/**
 * Variance scaling as in the score-SDE / DDPM reference code (`default_init(scale)`, JAX's
 * `variance_scaling`): variance = scale / fan, fan ∈ {fan_in, fan_out, (fan_in+fan_out)/2};
 * "uniform" draws U(±√(3·variance)), "normal" draws N(0, variance). With scale 1, fan_avg and
 * uniform this equals {@link xavierUniform}. Scale 0 is replaced by 1e-10, as in that code.
 */
export function varianceScaling(
  shape: readonly number[],
  rng: Rng,
  opts: {
    scale?: number;
    mode?: "fan_in" | "fan_out" | "fan_avg";
    distribution?: "uniform" | "normal";
    dtype?: ParamDtype;
  } = {},
): Param {
  const { fanIn, fanOut } = computeFans(shape);
  const mode = opts.mode ?? "fan_avg";
  const fan = mode === "fan_in" ? fanIn : mode === "fan_out" ? fanOut : (fanIn + fanOut) / 2;
  const scale = opts.scale === 0 ? 1e-10 : (opts.scale ?? 1);
  const variance = scale / fan;
  return (opts.distribution ?? "uniform") === "uniform"
    ? uniform(shape, -Math.sqrt(3 * variance), Math.sqrt(3 * variance), rng, opts.dtype)
    : normal(shape, Math.sqrt(variance), rng, { dtype: opts.dtype });
}

/**
 * PyTorch's default initialization of `nn.Linear` / `nn.Conv*d` weights:
 * `kaiming_uniform_(w, a=√5)`, i.e. gain √(2/(1+5)) = 1/√3 and bound √3·gain/√fan_in, which is
 * exactly U(−1/√fan_in, 1/√fan_in).
 */
export function torchDefaultWeight(shape: readonly number[], rng: Rng, dtype?: ParamDtype): Param {
  return kaimingUniform(shape, rng, { a: Math.sqrt(5), mode: "fan_in", nonlinearity: "leaky_relu", dtype });
}

/**
 * PyTorch's default initialization of `nn.Linear` / `nn.Conv*d` biases: U(−1/√fan_in, 1/√fan_in)
 * where fan_in is that of the layer's weight (use `computeFans(weightShape).fanIn`); zero if fan_in is 0.
 */
export function torchDefaultBias(shape: readonly number[], fanIn: number, rng: Rng, dtype?: ParamDtype): Param {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return uniform(shape, -bound, bound, rng, dtype);
}

/** Total number of scalars in a tree. */
export function paramCount(tree: ParamTree): number {
  let n = 0;
  for (const p of tree.values()) n += p.data.length;
  return n;
}

/** Deep copy of a tree (fresh arrays). */
export function cloneParams(tree: ParamTree): ParamTree {
  const out: ParamTree = new Map();
  for (const [k, p] of tree) out.set(k, { shape: [...p.shape], data: p.data.slice() });
  return out;
}

const NAME_RE = /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/;

/** Throws if a name is not a dotted identifier path ("down.0.conv.weight"). */
export function checkParamName(name: string): void {
  if (!NAME_RE.test(name))
    throw new Error(
      `invalid parameter name ${JSON.stringify(name)}: use dotted names of letters, digits and _ (e.g. "down.0.conv.weight")`,
    );
}
/** Expected parameters: name → shape, or name → anything with a shape (e.g. a freshly initialized tree). */
export type ExpectedParams =
  | Map<string, readonly number[] | { shape: readonly number[] }>
  | Record<string, readonly number[] | { shape: readonly number[] }>;

function specEntries(spec: ExpectedParams): [string, readonly number[]][] {
  const entries = spec instanceof Map ? [...spec] : Object.entries(spec);
  return entries.map(([k, v]) => [
    k,
    Array.isArray(v) ? (v as readonly number[]) : (v as { shape: readonly number[] }).shape,
  ]);
}

/**
 * Compare a tree against a spec. Returns one line per problem (missing, unexpected, mis-shaped),
 * empty if they match.
 */
export function diffParams(found: Map<string, { shape: readonly number[] }>, spec: ExpectedParams): string[] {
  const problems: string[] = [];
  const expected = new Map(specEntries(spec));
  for (const [name, shape] of expected) {
    const f = found.get(name);
    if (f === undefined) problems.push(`missing "${name}": expected shape ${fmtShape(shape)}, not in the checkpoint`);
    else if (f.shape.length !== shape.length || f.shape.some((d, i) => d !== shape[i])) {
      problems.push(`wrong shape for "${name}": expected ${fmtShape(shape)}, found ${fmtShape(f.shape)}`);
    }
  }
  for (const [name, f] of found) {
    if (!expected.has(name)) problems.push(`unexpected "${name}": found shape ${fmtShape(f.shape)}, not in the model`);
  }
  return problems;
}

/** Problems of a tensor before it is stored: bad name, length ≠ product(shape), or a non-finite value. */
export function paramProblems(name: string, p: Param): string | undefined {
  if (!NAME_RE.test(name))
    return `invalid parameter name ${JSON.stringify(name)}: use dotted names of letters, digits and _ (e.g. "down.0.conv.weight")`;
  if (!(p.data instanceof Float32Array || p.data instanceof Float64Array))
    return `parameter "${name}" must be a Float32Array or Float64Array`;
  if (p.data.length !== sizeOf(p.shape))
    return `parameter "${name}" has shape ${fmtShape(p.shape)} (${sizeOf(p.shape)} elements) but ${p.data.length} values`;
  for (let i = 0; i < p.data.length; i++)
    if (!Number.isFinite(p.data[i]!)) return `parameter "${name}" has a non-finite value (${p.data[i]}) at index ${i}`;
  return undefined;
}
