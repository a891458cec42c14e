/**
 * Checkpoints: a parameter tree plus configuration and extra tensors in a folder (Node only: uses
 * the file system). Parameter trees and initializers live in engine/init.ts.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { checkParamName, type ParamArray, type ParamTree } from "../engine/init.ts";
import { fmtShape, sizeOf as numel } from "../engine/tensor.ts";
import { dtypeOfArray, type SafeTensor, type SafetensorsMetadata } from "./safetensors.ts";
import { readJsonFile, readSafetensorsFile, writeJsonAtomic, writeSafetensorsFile } from "./files.ts";

export type { Param, ParamArray, ParamDtype, ParamTree } from "../engine/init.ts";

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
  if (!Number.isSafeInteger(step) || step < 0)
    throw new Error(`saveCheckpoint: step must be a non-negative integer, got ${step}`);
  if (ckpt.config === null || typeof ckpt.config !== "object")
    throw new Error("saveCheckpoint: config must be an object");
  const tensors = new Map<string, SafeTensor>();
  for (const [name, p] of ckpt.params) {
    checkParamName(name);
    if (!(p.data instanceof Float32Array || p.data instanceof Float64Array))
      throw new Error(`saveCheckpoint: parameter "${name}" must be a Float32Array or Float64Array`);
    if (p.data.length !== numel(p.shape))
      throw new Error(
        `saveCheckpoint: parameter "${name}" has shape ${fmtShape(p.shape)} (${numel(p.shape)} elements) but ${p.data.length} values`,
      );
    for (let i = 0; i < p.data.length; i++) {
      if (!Number.isFinite(p.data[i]!))
        throw new Error(
          `saveCheckpoint: parameter "${name}" has a non-finite value (${p.data[i]}) at index ${i}; refusing to save a diverged model to ${dir}`,
        );
    }
    tensors.set(name, { dtype: p.data instanceof Float64Array ? "F64" : "F32", shape: [...p.shape], data: p.data });
  }
  const extras = ckpt.extra instanceof Map ? [...ckpt.extra] : Object.entries(ckpt.extra ?? {});
  for (const [name, t] of extras) {
    if (name.length === 0) throw new Error("saveCheckpoint: extra tensor names must be non-empty");
    tensors.set(EXTRA_PREFIX + name, {
      dtype: t.dtype ?? dtypeOfArray(t.data),
      shape: [...t.shape],
      data: t.data,
    } as SafeTensor);
  }
  const metadata: SafetensorsMetadata = {
    ...(ckpt.metadata ?? {}),
    format: FORMAT,
    version: String(VERSION),
    step: String(step),
  };
  await writeSafetensorsFile(join(dir, CHECKPOINT_WEIGHTS), tensors, metadata, { mkdirs: true });
  await writeJsonAtomic(join(dir, CHECKPOINT_CONFIG), { format: FORMAT, version: VERSION, step, config: ckpt.config });
}

/** Expected parameters: name → shape, or name → anything with a shape (e.g. a freshly initialized tree). */
export type ParamSpec =
  | Map<string, readonly number[] | { shape: readonly number[] }>
  | Record<string, readonly number[] | { shape: readonly number[] }>;

function specEntries(spec: ParamSpec): [string, readonly number[]][] {
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
      throw new Error(
        kind === "folder"
          ? `checkpoint folder not found: ${path}; ${hint}`
          : `checkpoint file missing: ${path}; ${hint}`,
        { cause: e },
      );
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
  await requirePath(
    dir,
    "folder",
    `pass the folder written by saveCheckpoint (${CHECKPOINT_WEIGHTS} + ${CHECKPOINT_CONFIG})`,
  );
  const weightsPath = join(dir, CHECKPOINT_WEIGHTS),
    configPath = join(dir, CHECKPOINT_CONFIG);
  await requirePath(weightsPath, "file", hint);
  await requirePath(configPath, "file", hint);

  const { tensors, metadata } = await readSafetensorsFile(weightsPath);
  const cfg = await readJsonFile(configPath);
  if (cfg === null || typeof cfg !== "object" || Array.isArray(cfg) || !("config" in cfg)) {
    throw new Error(
      `${configPath}: expected {"format": "${FORMAT}", "step": …, "config": {…}} as written by saveCheckpoint`,
    );
  }
  const c = cfg as { format?: unknown; step?: unknown; config: unknown };
  if (c.format !== undefined && c.format !== FORMAT)
    throw new Error(`${configPath}: format is ${JSON.stringify(c.format)}, expected "${FORMAT}"`);
  const step = typeof c.step === "number" ? c.step : 0;
  if (metadata["step"] !== undefined && String(step) !== metadata["step"]) {
    throw new Error(
      `checkpoint ${dir} is inconsistent: ${CHECKPOINT_WEIGHTS} is from step ${metadata["step"]} but ${CHECKPOINT_CONFIG} from step ${step} (a save was interrupted); restore both files from one save or use an earlier checkpoint`,
    );
  }

  const params: ParamTree = new Map();
  const extra = new Map<string, SafeTensor>();
  const badDtype: string[] = [];
  for (const [name, t] of tensors) {
    if (name.startsWith(EXTRA_PREFIX)) {
      extra.set(name.slice(EXTRA_PREFIX.length), t);
      continue;
    }
    if (t.dtype === "F32" || t.dtype === "F64") params.set(name, { shape: t.shape, data: t.data as ParamArray });
    else
      badDtype.push(`unsupported dtype for "${name}": ${t.dtype} ${fmtShape(t.shape)} (parameters must be F32 or F64)`);
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
