/**
 * Parameter trees, seeded initializers and checkpoints.
 *
 * A parameter tree is a flat `Map` from dotted names ("down.0.conv.weight") to row-major tensors.
 * Weight layouts follow PyTorch: dense `[out, in]`, conv `[O, C, kh, kw]` (conv-transpose weights
 * in PyTorch's `[C_in, C_out, kh, kw]` layout get PyTorch's fans from the same rule).
 *
 * Initializers draw from an explicit {@link Rng} in row-major order, so the same seed gives the
 * same numbers everywhere. Values are drawn in float64 and stored in the requested precision.
 *
 * The checkpoint functions (saveCheckpoint, loadCheckpoint) use the file system (Node only).
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { Rng } from "../rng.ts";
import { dtypeOfArray, type SafeTensor, type SafetensorsMetadata } from "./safetensors.ts";
import { readJsonFile, readSafetensorsFile, writeJsonAtomic, writeSafetensorsFile } from "./files.ts";

export type ParamArray = Float32Array | Float64Array;

/** One parameter tensor: row-major `data` with `product(shape)` elements. */
export interface Param {
  shape: number[];
  data: ParamArray;
}

/** Flat parameter tree: dotted name → tensor. Iteration order is insertion order. */
export type ParamTree = Map<string, Param>;

export type ParamDtype = "float32" | "float64";

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

const fmtShape = (s: readonly number[]): string => `[${s.join(", ")}]`;

function alloc(shape: readonly number[], dtype: ParamDtype = "float32"): ParamArray {
  for (const d of shape) if (!Number.isSafeInteger(d) || d < 0) throw new Error(`invalid shape ${fmtShape(shape)}: dimensions must be non-negative integers`);
  const n = numel(shape);
  return dtype === "float64" ? new Float64Array(n) : new Float32Array(n);
}

/**
 * Fans of a weight tensor, as PyTorch computes them: fan_in = shape[1]·receptive,
 * fan_out = shape[0]·receptive, receptive = product(shape[2:]). So dense [out, in] gives
 * (in, out) and conv [O, C, kh, kw] gives (C·kh·kw, O·kh·kw). Needs at least 2 dimensions.
 */
export function computeFans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new Error(`fan-in/fan-out need a weight with at least 2 dimensions ([out, in] or [O, C, kh, kw]), got shape ${fmtShape(shape)}`);
  const receptive = numel(shape.slice(2));
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

export type Nonlinearity = "linear" | "conv" | "sigmoid" | "tanh" | "relu" | "leaky_relu" | "selu";

/**
 * Recommended gain for a nonlinearity (PyTorch's `calculate_gain`): linear/conv/sigmoid 1,
 * tanh 5/3, relu √2, leaky_relu √(2/(1+slope²)) (slope defaults to 0.01), selu 3/4.
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case "linear": case "conv": case "sigmoid": return 1;
    case "tanh": return 5 / 3;
    case "relu": return Math.SQRT2;
    case "leaky_relu": { const a = param ?? 0.01; return Math.sqrt(2 / (1 + a * a)); }
    case "selu": return 3 / 4;
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
export function normal(shape: readonly number[], std: number, rng: Rng, opts: { mean?: number; dtype?: ParamDtype } = {}): Param {
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
export function xavierUniform(shape: readonly number[], rng: Rng, opts: { gain?: number; dtype?: ParamDtype } = {}): Param {
  const { fanIn, fanOut } = computeFans(shape);
  const bound = (opts.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(shape, -bound, bound, rng, opts.dtype);
}

/** Glorot & Bengio 2010: N(0, gain²·2/(fan_in+fan_out)). */
export function xavierNormal(shape: readonly number[], rng: Rng, opts: { gain?: number; dtype?: ParamDtype } = {}): Param {
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
  opts: { scale?: number; mode?: "fan_in" | "fan_out" | "fan_avg"; distribution?: "uniform" | "normal"; dtype?: ParamDtype } = {},
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
  if (!NAME_RE.test(name)) throw new Error(`invalid parameter name ${JSON.stringify(name)}: use dotted names of letters, digits and _ (e.g. "down.0.conv.weight")`);
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

/** File names inside a checkpoint folder. */
export const CHECKPOINT_WEIGHTS = "model.safetensors";
export const CHECKPOINT_CONFIG = "config.json";
/** Prefix under which extra tensors (optimizer state, EMA, …) are stored in model.safetensors. */
export const EXTRA_PREFIX = "extra/";
const FORMAT = "scoregen-checkpoint";
const VERSION = 1;

/** A tensor to save alongside the parameters; dtype is inferred from the array when omitted. */
export type ExtraTensor = SafeTensor | { dtype?: undefined; shape: number[]; data: SafeTensor["data"] };

export interface CheckpointInput {
  params: ParamTree;
  /** Model/training configuration (plain JSON: finite numbers, strings, booleans, arrays, objects). */
  config: object;
  /** Training step (default 0). */
  step?: number;
  /** Extra named tensors (e.g. "adam.m.down.0.weight", "ema.down.0.weight"), any safetensors dtype. */
  extra?: Map<string, ExtraTensor> | Record<string, ExtraTensor>;
  /** Extra string metadata for the safetensors header. */
  metadata?: SafetensorsMetadata;
}

export interface Checkpoint {
  params: ParamTree;
  config: unknown;
  step: number;
  extra: Map<string, SafeTensor>;
  metadata: SafetensorsMetadata;
}

/**
 * Write a checkpoint folder (created if missing):
 * - `model.safetensors`: every parameter under its own name (F32 or F64, as in memory) — loadable
 *   as a PyTorch state dict — plus each extra tensor under `extra/<name>`; metadata
 *   `{format: "scoregen-checkpoint", version, step, ...metadata}`;
 * - `config.json`: `{format, version, step, config}`.
 * Each file is written atomically (temporary file + fsync + rename), weights first; both record
 * the step, so a save interrupted between the two files is detected by {@link loadCheckpoint}.
 * Non-finite parameter values are rejected (they would silently poison a resumed run).
 */
export async function saveCheckpoint(dir: string, ckpt: CheckpointInput): Promise<void> {
  const step = ckpt.step ?? 0;
  if (!Number.isSafeInteger(step) || step < 0) throw new Error(`saveCheckpoint: step must be a non-negative integer, got ${step}`);
  if (ckpt.config === null || typeof ckpt.config !== "object") throw new Error("saveCheckpoint: config must be an object");
  const tensors = new Map<string, SafeTensor>();
  for (const [name, p] of ckpt.params) {
    checkParamName(name);
    if (!(p.data instanceof Float32Array || p.data instanceof Float64Array)) throw new Error(`saveCheckpoint: parameter "${name}" must be a Float32Array or Float64Array`);
    if (p.data.length !== numel(p.shape)) throw new Error(`saveCheckpoint: parameter "${name}" has shape ${fmtShape(p.shape)} (${numel(p.shape)} elements) but ${p.data.length} values`);
    for (let i = 0; i < p.data.length; i++) {
      if (!Number.isFinite(p.data[i]!)) throw new Error(`saveCheckpoint: parameter "${name}" has a non-finite value (${p.data[i]}) at index ${i}; refusing to save a diverged model to ${dir}`);
    }
    tensors.set(name, { dtype: p.data instanceof Float64Array ? "F64" : "F32", shape: [...p.shape], data: p.data });
  }
  const extras = ckpt.extra instanceof Map ? [...ckpt.extra] : Object.entries(ckpt.extra ?? {});
  for (const [name, t] of extras) {
    if (name.length === 0) throw new Error("saveCheckpoint: extra tensor names must be non-empty");
    tensors.set(EXTRA_PREFIX + name, { dtype: t.dtype ?? dtypeOfArray(t.data), shape: [...t.shape], data: t.data } as SafeTensor);
  }
  const metadata: SafetensorsMetadata = { ...(ckpt.metadata ?? {}), format: FORMAT, version: String(VERSION), step: String(step) };
  await writeSafetensorsFile(join(dir, CHECKPOINT_WEIGHTS), tensors, metadata, { mkdirs: true });
  await writeJsonAtomic(join(dir, CHECKPOINT_CONFIG), { format: FORMAT, version: VERSION, step, config: ckpt.config });
}

/** Expected parameters: name → shape, or name → anything with a shape (e.g. a freshly initialized tree). */
export type ParamSpec =
  | Map<string, readonly number[] | { shape: readonly number[] }>
  | Record<string, readonly number[] | { shape: readonly number[] }>;

function specEntries(spec: ParamSpec): [string, readonly number[]][] {
  const entries = spec instanceof Map ? [...spec] : Object.entries(spec);
  return entries.map(([k, v]) => [k, Array.isArray(v) ? (v as readonly number[]) : (v as { shape: readonly number[] }).shape]);
}

/**
 * Compare a tree against a spec. Returns one line per problem (missing, unexpected, mis-shaped),
 * empty if they match.
 */
export function diffParams(found: Map<string, { shape: readonly number[] }>, spec: ParamSpec): string[] {
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

async function requirePath(path: string, kind: "folder" | "file", hint: string): Promise<void> {
  try {
    const s = await stat(path);
    if (kind === "folder" && !s.isDirectory()) throw new Error(`checkpoint path ${path} is not a folder; ${hint}`);
    if (kind === "file" && !s.isFile()) throw new Error(`checkpoint file ${path} is not a regular file; ${hint}`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error(kind === "folder" ? `checkpoint folder not found: ${path}; ${hint}` : `checkpoint file missing: ${path}; ${hint}`, { cause: e });
    }
    throw e;
  }
}

/**
 * Read a checkpoint folder written by {@link saveCheckpoint}. If `expected` is given, the
 * parameters must match it exactly; otherwise one error lists every missing, unexpected and
 * mis-shaped tensor and how to fix it. Parameters come back as stored (Float32Array or
 * Float64Array); extra tensors without their `extra/` prefix.
 */
export async function loadCheckpoint(dir: string, expected?: ParamSpec): Promise<Checkpoint> {
  const hint = `a checkpoint folder holds ${CHECKPOINT_WEIGHTS} and ${CHECKPOINT_CONFIG} (written by saveCheckpoint)`;
  await requirePath(dir, "folder", `pass the folder written by saveCheckpoint (${CHECKPOINT_WEIGHTS} + ${CHECKPOINT_CONFIG})`);
  const weightsPath = join(dir, CHECKPOINT_WEIGHTS), configPath = join(dir, CHECKPOINT_CONFIG);
  await requirePath(weightsPath, "file", hint);
  await requirePath(configPath, "file", hint);

  const { tensors, metadata } = await readSafetensorsFile(weightsPath);
  const cfg = await readJsonFile(configPath);
  if (cfg === null || typeof cfg !== "object" || Array.isArray(cfg) || !("config" in cfg)) {
    throw new Error(`${configPath}: expected {"format": "${FORMAT}", "step": …, "config": {…}} as written by saveCheckpoint`);
  }
  const c = cfg as { format?: unknown; step?: unknown; config: unknown };
  if (c.format !== undefined && c.format !== FORMAT) throw new Error(`${configPath}: format is ${JSON.stringify(c.format)}, expected "${FORMAT}"`);
  const step = typeof c.step === "number" ? c.step : 0;
  if (metadata["step"] !== undefined && String(step) !== metadata["step"]) {
    throw new Error(`checkpoint ${dir} is inconsistent: ${CHECKPOINT_WEIGHTS} is from step ${metadata["step"]} but ${CHECKPOINT_CONFIG} from step ${step} (a save was interrupted); restore both files from one save or use an earlier checkpoint`);
  }

  const params: ParamTree = new Map();
  const extra = new Map<string, SafeTensor>();
  const badDtype: string[] = [];
  for (const [name, t] of tensors) {
    if (name.startsWith(EXTRA_PREFIX)) { extra.set(name.slice(EXTRA_PREFIX.length), t); continue; }
    if (t.dtype === "F32" || t.dtype === "F64") params.set(name, { shape: t.shape, data: t.data as ParamArray });
    else badDtype.push(`unsupported dtype for "${name}": ${t.dtype} ${fmtShape(t.shape)} (parameters must be F32 or F64)`);
  }
  const problems = [...badDtype, ...(expected !== undefined ? diffParams(params, expected) : [])];
  if (problems.length > 0) {
    throw new Error(
      `checkpoint ${weightsPath} does not match the model (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
      problems.map((p) => `  - ${p}`).join("\n") +
      `\nFix: build the model with the configuration stored in ${configPath} (the one it was trained with), ` +
      `or point to a checkpoint saved from this model's configuration.`,
    );
  }
  return { params, config: c.config, step, extra, metadata };
}
