/**
 * A run folder on disk (Node only): the {@link RunStore} of the training loop, made safe against
 * kills, signals, full disks and a second process.
 * - Opening takes the folder's exclusive lock (src/io/lock.ts), refuses a folder that holds another
 *   kind of run, and removes temporaries an interrupted write left behind.
 * - Checkpoints are step-numbered files written atomically, with a manifest renamed last
 *   (src/io/checkpoint.ts); the newest `keep` are kept.
 * - loss.csv gets whole lines only: an append that fails is rolled back, and on resume the log
 *   is cut back to the checkpoint's step (dropping rows of steps that were not saved and any line
 *   a kill tore).
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  CHECKPOINT_CONFIG,
  CHECKPOINT_DIR,
  CHECKPOINT_WEIGHTS,
  type RunKind,
  checkpointKind,
  listCheckpoints,
  loadCheckpoint,
  saveCheckpoint,
} from "./checkpoint.ts";
import { type FileSystem, nodeFs, removeStaleTemporaries, writeFileAtomic } from "./files.ts";
import { describeFsError } from "./fs-errors.ts";
import { acquireRunLock } from "./lock.ts";
import type { LossRow, RunStore, StoredCheckpoint, StateTensor } from "../tasks/run-store.ts";

export const LOSS_LOG = "loss.csv";
const LOSS_HEADER = "step,loss,grad_norm";
const LOSS_ROW = /^(\d+),[^,]+,[^,]+$/;

/** Words for a kind in messages. */
export function describeKind(kind: RunKind): string {
  return kind === "score-model"
    ? "score-model training run"
    : kind === "mnist-classifier"
      ? "MNIST classifier"
      : kind === "noisy-classifier"
        ? "noise-conditional classifier"
        : `${kind} checkpoint`;
}

export interface RunFolderOptions {
  /** What this command writes; a folder holding another kind is refused. */
  kind: RunKind;
  /** Shown to a second process that finds the folder locked (e.g. "scoregen train"). */
  command?: string;
  /** Checkpoints to keep (default 2). */
  keep?: number;
  /** File-system layer for writes (default Node's; tests inject a full disk). */
  fs?: FileSystem;
}

export interface RunFolder extends RunStore {
  readonly dir: string;
  /** What the folder held when opened (kind and newest step), if anything. */
  readonly existing?: { kind: RunKind; step: number };
  /** Temporaries of interrupted writes removed on opening. */
  readonly removedTemporaries: string[];
  /** Delete the checkpoints and manifest this folder holds (a command that replaces its own earlier output). */
  discard(): Promise<void>;
  /** Release the lock. */
  close(): Promise<void>;
  /** Release the lock synchronously (exit paths). */
  closeSync(): void;
}

/** Open (creating if needed) and lock a run folder for writing. */
export async function openRunFolder(dir: string, o: RunFolderOptions): Promise<RunFolder> {
  const fs = o.fs ?? nodeFs;
  const st = await stat(dir).catch(() => undefined);
  if (st && !st.isDirectory())
    throw new Error(`${dir} is a file, not a folder; choose a folder for the run (it is created if missing)`);
  if (!st)
    await fs.mkdir(dir, { recursive: true }).catch((e: unknown) => {
      throw new Error(describeFsError(e, dir, "create the folder"), { cause: e });
    });
  const lock = await acquireRunLock(dir, o.command ?? `scoregen (${o.kind})`);
  try {
    const existing = await checkpointKind(dir);
    if (existing && existing.kind !== o.kind) {
      throw new Error(
        `${dir} holds a ${describeKind(existing.kind)} (step ${existing.step}); writing a ${describeKind(o.kind)} there would destroy it: choose another folder`,
      );
    }
    const removedTemporaries = [
      ...(await removeStaleTemporaries(dir)),
      ...(await removeStaleTemporaries(join(dir, CHECKPOINT_DIR))).map((n) => join(CHECKPOINT_DIR, n)),
    ];
    return {
      dir,
      existing,
      removedTemporaries,
      loadLatest: async () => (existing ? toStored(await loadCheckpoint(dir)) : undefined),
      save: (ck) =>
        saveCheckpoint(dir, {
          params: ck.params,
          config: ck.config,
          step: ck.step,
          extra: ck.extra,
          kind: o.kind,
          keep: o.keep,
          fs,
        }),
      startLossLog: (step) => startLossLog(dir, step, fs),
      appendLoss: (rows) => appendLoss(join(dir, LOSS_LOG), rows, fs),
      discard: async () => {
        for (const c of await listCheckpoints(dir)) await fs.rm(c.path, { force: true });
        await fs.rm(join(dir, CHECKPOINT_CONFIG), { force: true });
        await fs.rm(join(dir, CHECKPOINT_WEIGHTS), { force: true });
      },
      close: () => lock.release(),
      closeSync: () => lock.releaseSync(),
    };
  } catch (e) {
    await lock.release();
    throw e;
  }
}

function toStored(ck: Awaited<ReturnType<typeof loadCheckpoint>>): StoredCheckpoint {
  if (!ck.config || typeof ck.config !== "object") throw new Error(`${ck.file}: its config is not an object`);
  return {
    step: ck.step,
    config: ck.config,
    params: ck.params,
    extra: new Map([...ck.extra].map(([k, t]) => [k, { shape: t.shape, data: t.data as StateTensor["data"] }])),
  };
}

/** The complete rows of a loss log text with step ≤ `step` (a torn last line has no newline and is dropped). */
export function lossRowsUpTo(text: string, step: number): string[] {
  const lines = text.split("\n").slice(0, -1);
  return lines.filter((l) => {
    const m = LOSS_ROW.exec(l);
    return m !== null && Number(m[1]) <= step;
  });
}

async function startLossLog(dir: string, step: number, fs: FileSystem): Promise<void> {
  const path = join(dir, LOSS_LOG);
  const old = step > 0 ? await readFile(path, "utf8").catch(() => "") : "";
  await writeFileAtomic(path, `${[LOSS_HEADER, ...lossRowsUpTo(old, step)].join("\n")}\n`, { fs });
}

/** Append rows in one write; if it fails (e.g. disk full) the file is cut back to its old length. */
async function appendLoss(path: string, rows: readonly LossRow[], fs: FileSystem): Promise<void> {
  if (rows.length === 0) return;
  const text = rows.map((r) => `${r.step},${r.loss},${r.gradNorm}\n`).join("");
  let handle: Awaited<ReturnType<FileSystem["open"]>>;
  try {
    handle = await fs.open(path, "a");
  } catch (e) {
    throw new Error(describeFsError(e, path, "append to"), { cause: e });
  }
  let size = 0;
  try {
    size = (await handle.stat()).size;
    const bytes = new TextEncoder().encode(text);
    for (let off = 0; off < bytes.length; ) {
      const { bytesWritten } = await handle.write(bytes, off, bytes.length - off);
      if (bytesWritten <= 0) throw Object.assign(new Error("the write made no progress"), { code: "ENOSPC" });
      off += bytesWritten;
    }
  } catch (e) {
    await handle.truncate(size).catch(() => undefined);
    throw new Error(describeFsError(e, path, "append to"), { cause: e });
  } finally {
    await handle.close().catch(() => undefined);
  }
}
