/**
 * Crash-safe file writes (Node only). A file is written to a temporary sibling in the same folder,
 * flushed to disk (fsync), then renamed over the target: readers see either the old file or the
 * complete new one, never a half-written file. On any failure the temporary file is removed.
 */
import { randomBytes } from "node:crypto";
import * as fsp from "node:fs/promises";
import { type FileHandle, open, readFile, readdir, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { describeFsError, errnoOf } from "./fs-errors.ts";
import { decodeSafetensors, encodeSafetensors, type SafeTensor, type SafetensorsMetadata } from "./safetensors.ts";

/**
 * The file-system calls that writes go through. The default is Node's; tests inject a layer that
 * fails like a full disk (ENOSPC) where no small file system can be mounted.
 */
export interface FileSystem {
  open: typeof fsp.open;
  rename: typeof fsp.rename;
  rm: typeof fsp.rm;
  mkdir: typeof fsp.mkdir;
  stat: typeof fsp.stat;
}

/** Node's file system. */
export const nodeFs: FileSystem = { open: fsp.open, rename: fsp.rename, rm: fsp.rm, mkdir: fsp.mkdir, stat: fsp.stat };

/** Options for {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** File mode of the new file (default 0o644, before umask). */
  mode?: number;
  /** Create the parent folder (recursively) if it is missing (default false). */
  mkdirs?: boolean;
  /** File-system layer (default Node's). */
  fs?: FileSystem;
}

/** The temporary name used next to `path`: `.<name>.<random>.tmp` in the same folder. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
}

/** True when a name in a folder is one of this module's temporary files. */
export function isAtomicTempName(name: string): boolean {
  return /^\..+\.\d+\.[0-9a-f]{12}\.tmp$/.test(name);
}

/**
 * Write `data` to `path` atomically: temporary file in the same folder, write, fsync, close,
 * rename over `path`, then fsync the folder (best effort). If anything fails, the temporary file is
 * removed, `path` is left as it was, and the error names `path`.
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const dir = dirname(path);
  const fs = options.fs ?? nodeFs;
  if (options.mkdirs)
    await fs.mkdir(dir, { recursive: true }).catch((e: unknown) => {
      throw new Error(describeFsError(e, dir, "create the folder"), { cause: e });
    });
  const tmp = tempPathFor(path);
  let handle: FileHandle | undefined;
  try {
    handle = await fs.open(tmp, "wx", options.mode ?? 0o644);
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    let written = 0;
    while (written < bytes.length) {
      const { bytesWritten } = await handle.write(bytes, written, bytes.length - written);
      if (bytesWritten <= 0) throw new Error("the write made no progress (disk full?)");
      written += bytesWritten;
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(tmp, path);
  } catch (e) {
    if (handle !== undefined) await handle.close().catch(() => undefined);
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw new Error(
      errnoOf(e) ? describeFsError(e, path, "write") : `could not write ${path}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  await fsyncDir(dir);
}

/** fsync a folder so a rename inside it is durable; ignored where folders cannot be opened (Windows). */
async function fsyncDir(dir: string): Promise<void> {
  let h: FileHandle | undefined;
  try {
    h = await open(dir, "r");
    await h.sync();
  } catch {
    // Not supported on every platform/file system; the rename itself has already happened.
  } finally {
    await h?.close().catch(() => undefined);
  }
}

/**
 * Write a value as pretty JSON (2-space indent, trailing newline) atomically. Non-finite numbers
 * (NaN, ±Infinity), which JSON would silently turn into null, are rejected with the key path.
 */
export async function writeJsonAtomic(
  path: string,
  value: unknown,
  options: AtomicWriteOptions & { indent?: number } = {},
): Promise<void> {
  const text = `${toJsonStrict(value, options.indent ?? 2, path)}\n`;
  await writeFileAtomic(path, text, options);
}

/** JSON.stringify that refuses NaN/Infinity/undefined-at-top-level, naming the offending key path. */
export function toJsonStrict(value: unknown, indent = 2, what = "value"): string {
  const pathOf = new Map<object, string>();
  const text = JSON.stringify(
    value,
    function (this: unknown, key: string, v: unknown) {
      const parentPath = this !== null && typeof this === "object" ? pathOf.get(this) : undefined;
      const here = key === "" ? "$" : `${parentPath ?? "$"}${Array.isArray(this) ? `[${key}]` : `.${key}`}`;
      if (typeof v === "number" && !Number.isFinite(v)) {
        throw new Error(`${what}: ${here} is ${v}, which JSON cannot store; store a finite number or a string`);
      }
      if (v !== null && typeof v === "object") pathOf.set(v, here);
      return v;
    },
    indent,
  );
  if (text === undefined) throw new Error(`${what}: ${typeof value} cannot be written as JSON`);
  return text;
}

/** Read and parse a JSON file; errors name the file (missing, unreadable, or invalid JSON). */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(err.code === "ENOENT" ? `file not found: ${path}` : `could not read ${path}: ${err.message}`, {
      cause: e,
    });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}

/** Write tensors as a safetensors file, atomically. */
export async function writeSafetensorsFile(
  path: string,
  tensors: Record<string, SafeTensor> | Map<string, SafeTensor>,
  metadata?: SafetensorsMetadata,
  options: AtomicWriteOptions = {},
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata), options);
}

/** Read a safetensors file; errors name the file. */
export async function readSafetensorsFile(path: string): Promise<ReturnType<typeof decodeSafetensors>> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(err.code === "ENOENT" ? `file not found: ${path}` : `could not read ${path}: ${err.message}`, {
      cause: e,
    });
  }
  return decodeSafetensors(bytes, path);
}

/**
 * Remove the temporaries that an interrupted {@link writeFileAtomic} left in `dir` (only names of
 * the form `.<name>.<pid>.<hex>.tmp`). Call it only while holding the folder's lock: another live
 * writer's temporary would otherwise be deleted under it. Returns the names removed.
 */
export async function removeStaleTemporaries(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const stale = names.filter(isAtomicTempName);
  for (const n of stale) await rm(join(dir, n), { force: true });
  return stale;
}
