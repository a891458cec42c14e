/**
 * Checkpoint folders (Node only).
 *
 * Layout (version 2):
 *   DIR/checkpoints/step-00000120.safetensors   one complete checkpoint per file: every parameter
 *        under its own name (a PyTorch-style state dict), extra tensors (optimizer moments, EMA,
 *        step) under `extra/<name>`, and metadata {format, version, kind, step, config (JSON)}
 *   DIR/config.json                             the manifest {format, version, kind, step,
 *        checkpoint, config}, written after the checkpoint file (temporary file + fsync + rename)
 *
 * A checkpoint is one file written atomically, so any `step-*.safetensors` that exists is
 * complete: loading takes the newest one that decodes, even when a kill came between the
 * checkpoint's rename and the manifest's. The newest `keep` (default 2) are kept.
 *
 * Folders of version 1 (`model.safetensors` + `config.json` at the top, written by earlier
 * scoregen) still load; a run resumed from one continues in version 2 and leaves the old
 * `model.safetensors` untouched.
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { type ParamArray, type ExpectedParams, type ParamTree, diffParams, paramProblems } from "../engine/init.ts";
import { dtypeOfArray, type SafeTensor, type SafetensorsMetadata } from "./safetensors.ts";
import {
  type FileSystem,
  nodeFs,
  readJsonFile,
  readSafetensorsFile,
  toJsonStrict,
  writeJsonAtomic,
  writeSafetensorsFile,
} from "./files.ts";

/** The manifest (and, in version 1, the config) of a checkpoint folder. */
export const CHECKPOINT_CONFIG = "config.json";
/** Version 1's single weights file. */
export const CHECKPOINT_WEIGHTS = "model.safetensors";
/** Sub-folder holding the step-numbered checkpoints. */
export const CHECKPOINT_DIR = "checkpoints";
/** Prefix under which extra tensors (optimizer state, EMA, …) are stored. */
export const EXTRA_PREFIX = "extra/";
export const CHECKPOINT_FORMAT = "scoregen-checkpoint";
/** The newest folder version this code reads and the one it writes. */
export const CHECKPOINT_VERSION = 2;
/** Checkpoints kept by default. */
export const DEFAULT_KEEP = 2;

/** What a folder holds: a score model ("score-model"), the MNIST judge ("mnist-classifier"), … */
export type RunKind = string;

/** A tensor to save alongside the parameters; dtype is inferred from the array when omitted. */
export type ExtraTensor = SafeTensor | { dtype?: undefined; shape: number[]; data: SafeTensor["data"] };

export interface CheckpointInput {
  params: ParamTree;
  /** Model/training configuration (plain JSON: finite numbers, strings, booleans, arrays, objects). */
  config: object;
  /** Training step (default 0). */
  step?: number;
  /** Extra named tensors (e.g. optimizer moments, EMA), any safetensors dtype. */
  extra?: Map<string, ExtraTensor> | Record<string, ExtraTensor>;
  /** Extra string metadata for the safetensors header. */
  metadata?: SafetensorsMetadata;
  /** What the folder holds (default: derived from the config, see {@link kindOfConfig}). */
  kind?: RunKind;
  /** Keep this many newest checkpoints (default 2, at least 1). */
  keep?: number;
  /** File-system layer for the writes (default Node's). */
  fs?: FileSystem;
}

export interface Checkpoint {
  params: ParamTree;
  config: unknown;
  step: number;
  kind: RunKind;
  extra: Map<string, SafeTensor>;
  metadata: SafetensorsMetadata;
  /** The file the tensors came from. */
  file: string;
  /** Folder version (1 = legacy model.safetensors, 2 = step-numbered checkpoints). */
  version: number;
}

/** The kind of a config stored without one (version 1): the classifier's `kind`, else a score model. */
export function kindOfConfig(config: unknown): RunKind {
  const k = (config as { kind?: unknown } | null)?.kind;
  if (typeof k === "string") return k;
  return config && typeof config === "object" && "model" in config ? "score-model" : "checkpoint";
}

/** `step-00000120.safetensors`. */
export function checkpointFileName(step: number): string {
  return `step-${String(step).padStart(8, "0")}.safetensors`;
}
const STEP_FILE = /^step-(\d+)\.safetensors$/;

function checkVersion(v: unknown, where: string): number {
  if (v === undefined) return 1;
  const n = typeof v === "string" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1)
    throw new Error(
      `${where}: version ${JSON.stringify(v)} is not a scoregen checkpoint version (a positive integer); the file is damaged or not from scoregen`,
    );
  if (n > CHECKPOINT_VERSION)
    throw new Error(
      `${where} was written by a newer scoregen (checkpoint version ${n}; this one reads up to ${CHECKPOINT_VERSION}); upgrade scoregen to load it`,
    );
  return n;
}

/**
 * Write one checkpoint: the step-numbered file, then the manifest, then remove all but the newest
 * `keep`. Non-finite parameter values are rejected (they would silently poison a resumed run).
 */
export async function saveCheckpoint(dir: string, ckpt: CheckpointInput): Promise<void> {
  const step = ckpt.step ?? 0;
  if (!Number.isSafeInteger(step) || step < 0)
    throw new Error(`saveCheckpoint: step must be a non-negative integer, got ${step}`);
  if (ckpt.config === null || typeof ckpt.config !== "object")
    throw new Error("saveCheckpoint: config must be an object");
  const keep = ckpt.keep ?? DEFAULT_KEEP;
  if (!Number.isSafeInteger(keep) || keep < 1)
    throw new Error(`saveCheckpoint: keep must be an integer ≥ 1, got ${keep}`);
  const tensors = new Map<string, SafeTensor>();
  for (const [name, p] of ckpt.params) {
    const problem = paramProblems(name, p);
    if (problem)
      throw new Error(
        `saveCheckpoint: ${problem}${/non-finite/.test(problem) ? `; refusing to save a diverged model to ${dir}` : ""}`,
      );
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
  const kind = ckpt.kind ?? kindOfConfig(ckpt.config);
  const configJson = toJsonStrict(ckpt.config, 0, `checkpoint config for ${dir}`);
  const metadata: SafetensorsMetadata = {
    ...(ckpt.metadata ?? {}),
    format: CHECKPOINT_FORMAT,
    version: String(CHECKPOINT_VERSION),
    kind,
    step: String(step),
    config: configJson,
  };
  const file = join(CHECKPOINT_DIR, checkpointFileName(step));
  await writeSafetensorsFile(join(dir, file), tensors, metadata, { mkdirs: true, fs: ckpt.fs });
  await writeJsonAtomic(
    join(dir, CHECKPOINT_CONFIG),
    { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, kind, step, checkpoint: file, config: ckpt.config },
    { fs: ckpt.fs },
  );
  await pruneCheckpoints(dir, keep, ckpt.fs);
}

/** Step-numbered checkpoint files of a folder, newest first. */
export async function listCheckpoints(dir: string): Promise<{ step: number; path: string }[]> {
  const names = await readdir(join(dir, CHECKPOINT_DIR)).catch(() => [] as string[]);
  return names
    .flatMap((n) => {
      const m = STEP_FILE.exec(n);
      return m ? [{ step: Number(m[1]), path: join(dir, CHECKPOINT_DIR, n) }] : [];
    })
    .sort((a, b) => b.step - a.step);
}

/** Remove all but the newest `keep` checkpoint files. */
async function pruneCheckpoints(dir: string, keep: number, fs: FileSystem = nodeFs): Promise<void> {
  for (const old of (await listCheckpoints(dir)).slice(keep)) await fs.rm(old.path, { force: true });
}

async function requireFolder(dir: string): Promise<void> {
  let s: Awaited<ReturnType<typeof stat>>;
  try {
    s = await stat(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT")
      throw new Error(`checkpoint folder not found: ${dir}; pass the folder a training run wrote (--out DIR)`, {
        cause: e,
      });
    throw e;
  }
  if (!s.isDirectory())
    throw new Error(`checkpoint path ${dir} is not a folder; pass the folder a training run wrote (--out DIR)`);
}

/** The manifest / version-1 config.json, or undefined when there is none. Checks format and version. */
export async function readManifest(
  dir: string,
): Promise<{ format?: unknown; version: number; kind?: string; step?: unknown; config: unknown } | undefined> {
  const path = join(dir, CHECKPOINT_CONFIG);
  const exists = await stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!exists) return undefined;
  const m = await readJsonFile(path);
  if (m === null || typeof m !== "object" || Array.isArray(m) || !("config" in m)) {
    throw new Error(
      `${path}: expected {"format": "${CHECKPOINT_FORMAT}", "step": …, "config": {…}} as written by saveCheckpoint`,
    );
  }
  const c = m as { format?: unknown; version?: unknown; kind?: unknown; step?: unknown; config: unknown };
  if (c.format !== undefined && c.format !== CHECKPOINT_FORMAT)
    throw new Error(`${path}: format is ${JSON.stringify(c.format)}, expected "${CHECKPOINT_FORMAT}"`);
  return {
    ...c,
    version: checkVersion(c.version, path),
    kind: typeof c.kind === "string" ? c.kind : kindOfConfig(c.config),
  };
}

/**
 * What a folder holds, without reading tensors: its kind and step, or undefined when it holds no
 * checkpoint (missing folder, empty folder, or only a loss log of a run killed before its first save).
 */
export async function checkpointKind(dir: string): Promise<{ kind: RunKind; step: number } | undefined> {
  const m = await readManifest(dir);
  const newest = (await listCheckpoints(dir))[0];
  if (m)
    return {
      kind: m.kind ?? kindOfConfig(m.config),
      step: Math.max(typeof m.step === "number" ? m.step : 0, newest?.step ?? 0),
    };
  if (!newest) return undefined;
  const ck = await loadCheckpoint(dir);
  return { kind: ck.kind, step: ck.step };
}

/**
 * Read a checkpoint folder: the newest complete step-numbered checkpoint, or a version-1 folder.
 * If `expected` is given, the parameters must match it exactly; otherwise one error lists every
 * missing, unexpected and mis-shaped tensor and how to fix it. Parameters come back as stored
 * (Float32Array or Float64Array); extra tensors without their `extra/` prefix.
 */
export async function loadCheckpoint(dir: string, expected?: ExpectedParams): Promise<Checkpoint> {
  await requireFolder(dir);
  const manifest = await readManifest(dir);
  const files = await listCheckpoints(dir);
  const damaged: string[] = [];
  for (const f of files) {
    let decoded: Awaited<ReturnType<typeof readSafetensorsFile>>;
    try {
      decoded = await readSafetensorsFile(f.path);
    } catch (e) {
      damaged.push(`${f.path}: ${(e as Error).message}`);
      continue;
    }
    const md = decoded.metadata;
    checkVersion(md.version, f.path);
    let config: unknown;
    try {
      config = JSON.parse(md.config ?? "null");
    } catch {
      damaged.push(`${f.path}: its config metadata is not JSON`);
      continue;
    }
    if (config === null) {
      damaged.push(`${f.path}: no config in its metadata`);
      continue;
    }
    const step = Number(md.step ?? f.step);
    return finish(
      decoded.tensors,
      md,
      { config, step, kind: md.kind ?? kindOfConfig(config), file: f.path, version: CHECKPOINT_VERSION },
      expected,
    );
  }
  if (files.length > 0)
    throw new Error(
      `no readable checkpoint in ${join(dir, CHECKPOINT_DIR)}:\n${damaged.map((d) => `  - ${d}`).join("\n")}\nFix: restore the folder from a backup, or start a new run`,
    );
  return loadVersion1(dir, manifest, expected);
}

/** A version-1 folder: model.safetensors + config.json, both stamped with the step. */
async function loadVersion1(
  dir: string,
  manifest: Awaited<ReturnType<typeof readManifest>>,
  expected?: ExpectedParams,
): Promise<Checkpoint> {
  const hint = `a checkpoint folder holds ${CHECKPOINT_CONFIG} and ${CHECKPOINT_DIR}/ (or, from older scoregen, ${CHECKPOINT_WEIGHTS})`;
  const weightsPath = join(dir, CHECKPOINT_WEIGHTS),
    configPath = join(dir, CHECKPOINT_CONFIG);
  if (!manifest) throw new Error(`checkpoint file missing: ${configPath}; ${hint}`);
  const isFile = await stat(weightsPath).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!isFile) throw new Error(`checkpoint file missing: ${weightsPath}; ${hint}`);
  const { tensors, metadata } = await readSafetensorsFile(weightsPath);
  checkVersion(metadata.version, weightsPath);
  const step = typeof manifest.step === "number" ? manifest.step : 0;
  if (metadata.step !== undefined && String(step) !== metadata.step) {
    throw new Error(
      `checkpoint ${dir} is inconsistent: ${CHECKPOINT_WEIGHTS} is from step ${metadata.step} but ${CHECKPOINT_CONFIG} from step ${step} (a save was interrupted); restore both files from one save or use an earlier checkpoint`,
    );
  }
  return finish(
    tensors,
    metadata,
    {
      config: manifest.config,
      step,
      kind: manifest.kind ?? kindOfConfig(manifest.config),
      file: weightsPath,
      version: 1,
    },
    expected,
  );
}

function finish(
  tensors: Map<string, SafeTensor>,
  metadata: SafetensorsMetadata,
  rest: Omit<Checkpoint, "params" | "extra" | "metadata">,
  expected?: ExpectedParams,
): Checkpoint {
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
      badDtype.push(
        `unsupported dtype for "${name}": ${t.dtype} [${t.shape.join(", ")}] (parameters must be F32 or F64)`,
      );
  }
  const problems = [...badDtype, ...(expected !== undefined ? diffParams(params, expected) : [])];
  if (problems.length > 0) {
    throw new Error(
      `checkpoint ${rest.file} does not match the model (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n") +
        `\nFix: build the model with the configuration stored with the checkpoint (the one it was trained with), ` +
        `or point to a checkpoint saved from this model's configuration.`,
    );
  }
  const { config: _c, ...md } = metadata;
  return { params, extra, metadata: md, ...rest };
}
