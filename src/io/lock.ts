/**
 * An exclusive lock on a run folder (Node only): `DIR/.scoregen.lock` holds {pid, hostname,
 * command, since}. It is created complete or not at all (written to a temporary file, then
 * hard-linked to the lock name, which fails if the name exists), so a reader never sees a half
 * lock. A lock whose process is gone (same host, pid not running) is stale and is taken over.
 */
import { readFileSync, unlinkSync } from "node:fs";
import { link, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { describeFsError } from "./fs-errors.ts";
import { tempPathFor } from "./files.ts";

export const LOCK_NAME = ".scoregen.lock";

export interface LockInfo {
  pid: number;
  hostname: string;
  command: string;
  since: string;
}

export interface RunLock {
  readonly path: string;
  /** Remove the lock if it is still ours. */
  release(): Promise<void>;
  /** The same, synchronously (for exit paths). */
  releaseSync(): void;
}

/** True while process `pid` runs on this machine (a zombie counts as gone). */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true;
  }
}

function parse(text: string): LockInfo | undefined {
  try {
    const j = JSON.parse(text) as Partial<LockInfo>;
    return typeof j.pid === "number" && typeof j.hostname === "string"
      ? { pid: j.pid, hostname: j.hostname, command: String(j.command ?? "?"), since: String(j.since ?? "?") }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Take the lock of `dir` (which must exist) for `command`, or throw a clear error naming the
 * process that holds it. A stale lock (dead pid on this host, or unreadable) is replaced.
 */
export async function acquireRunLock(dir: string, command: string): Promise<RunLock> {
  const path = join(dir, LOCK_NAME);
  const mine: LockInfo = { pid: process.pid, hostname: hostname(), command, since: new Date().toISOString() };
  const text = `${JSON.stringify(mine)}\n`;
  const tmp = tempPathFor(path);
  try {
    await writeFile(tmp, text, { flag: "wx" });
  } catch (e) {
    throw new Error(describeFsError(e, dir, "write to the folder"), { cause: e });
  }
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(tmp, path);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        // ENOENT: the holder's clean-up removed our temporary; write it again.
        if (code === "ENOENT" && attempt < 5) {
          await writeFile(tmp, text);
          continue;
        }
        if (code !== "EEXIST") throw new Error(describeFsError(e, path, "create the lock"), { cause: e });
      }
      const held = await readFile(path, "utf8").catch(() => undefined);
      if (held === undefined && attempt < 5) continue; // released meanwhile: try again
      const info = held === undefined ? undefined : parse(held);
      const stale = !info || (info.hostname === mine.hostname && !processAlive(info.pid));
      if (!stale || attempt > 3) {
        const who = info
          ? `${info.command} (pid ${info.pid} on ${info.hostname}, since ${info.since})`
          : "another process";
        throw new Error(
          `${dir} is in use by ${who}; wait for it to finish or stop it, or choose another folder${info && info.hostname !== mine.hostname ? ` (if that process is gone, delete ${path})` : ""}`,
        );
      }
      // Stale: remove it only if it is still the same stale lock, then try again.
      if ((await readFile(path, "utf8").catch(() => undefined)) === held) await unlink(path).catch(() => undefined);
    }
  } finally {
    await rm(tmp, { force: true });
  }
  const ours = () => {
    try {
      return readFileSync(path, "utf8") === text;
    } catch {
      return false;
    }
  };
  return {
    path,
    async release() {
      if (ours()) await unlink(path).catch(() => undefined);
    },
    releaseSync() {
      if (ours()) {
        try {
          unlinkSync(path);
        } catch {
          /* already gone */
        }
      }
    },
  };
}
