/**
 * Training runs in folders (Node only): {@link trainToFolder} runs the platform-neutral loop
 * against a locked run folder; {@link loadRun} reads a trained model back (any checkpoint version).
 */
import * as E from "../engine/index.ts";
import { loadCheckpoint } from "../io/checkpoint.ts";
import { type ParamTree, diffParams } from "../engine/init.ts";
import type { FileSystem } from "../io/files.ts";
import { openRunFolder, type RunFolder } from "../io/run-folder.ts";
import { type ModelSpec, traceNetwork } from "../models/registry.ts";
import { type TrainConfig, type TrainData, type TrainOptions, type TrainResult, train } from "./train.ts";

/** The kind stored in a score model's run folder. */
export const SCORE_RUN = "score-model";

/** Parameter names and shapes of the network a spec builds (traced, not compiled). */
export function modelParamShapes(spec: ModelSpec): Map<string, number[]> {
  const ps = E.ParamScope.create(spec.dtype);
  const x = E.input("x", [1, ...spec.dataShape], spec.dtype),
    c = E.input("c", [1], spec.dtype);
  const y = spec.classes ? E.input("y", [1], "int64") : undefined;
  traceNetwork(spec, ps, x, c, y);
  return new Map(ps.specs().map((s) => [s.name, s.shape]));
}

/** A trained model from a run folder: its config and (EMA, when kept) parameters. */
export async function loadRun(
  dir: string,
  preferEma = true,
): Promise<{ cfg: TrainConfig; params: ParamTree; step: number }> {
  const ck = await loadCheckpoint(dir);
  const cfg = ck.config as TrainConfig;
  if (!cfg || typeof cfg !== "object" || !("model" in cfg))
    throw new Error(
      `${dir} is not a scoregen training run (its config has no "model" section${ck.kind !== SCORE_RUN ? `; it holds a ${ck.kind}` : ""})`,
    );
  const problems = diffParams(ck.params, modelParamShapes(cfg.model));
  if (problems.length) {
    throw new Error(
      `the weights in ${ck.file} do not match the model its config describes (${problems.length} problem${problems.length > 1 ? "s" : ""}):\n${problems.map((p) => `  - ${p}`).join("\n")}\nFix: restore the config.json written with these weights, or retrain`,
    );
  }
  const params: ParamTree = new Map();
  for (const [name, p] of ck.params) {
    const ema = preferEma ? ck.extra.get(`ema:${name}`) : undefined;
    params.set(name, ema ? { shape: p.shape, data: ema.data as Float32Array } : p);
  }
  return { cfg, params, step: ck.step };
}

export interface FolderTrainOptions extends Omit<TrainOptions, "store"> {
  outDir: string;
  /** Checkpoints to keep (default 2). */
  keep?: number;
  /** File-system layer (tests). */
  fs?: FileSystem;
  /** Called with the opened folder (e.g. to release its lock on a hard exit). */
  onOpen?: (folder: RunFolder) => void;
}

/**
 * Train into a run folder: locks it, refuses another kind of run, refuses an existing run unless
 * `resume`, and releases the lock at the end.
 */
export async function trainToFolder(cfg: TrainConfig, data: TrainData, o: FolderTrainOptions): Promise<TrainResult> {
  const folder = await openRunFolder(o.outDir, { kind: SCORE_RUN, command: "scoregen train", keep: o.keep, fs: o.fs });
  try {
    if (folder.existing && !o.resume)
      throw new Error(
        `${o.outDir} already holds a training run; pass --resume to continue it (from step ${folder.existing.step}) or choose another --out`,
      );
    o.onOpen?.(folder);
    return await train(cfg, data, { ...o, store: folder });
  } finally {
    await folder.close();
  }
}
