/**
 * One-line messages for file-system failures: the path, what went wrong in words, and the fix.
 * Pure functions on Node-style errors ({code, path, syscall}); no file-system access here.
 */

/** The errno code of an error or of any error in its `cause` chain (e.g. "ENOSPC"), if there is one. */
export function errnoOf(e: unknown): string | undefined {
  for (let x = e, depth = 0; x && typeof x === "object" && depth < 8; x = (x as { cause?: unknown }).cause, depth++) {
    const code = (x as { code?: unknown }).code;
    if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return code;
  }
  return undefined;
}

/** The path an error in the cause chain names (Node sets `path` on file-system errors). */
function pathOf(e: unknown): string | undefined {
  for (let x = e, depth = 0; x && typeof x === "object" && depth < 8; x = (x as { cause?: unknown }).cause, depth++) {
    const p = (x as { path?: unknown }).path;
    if (typeof p === "string") return p;
  }
  return undefined;
}

const FIXES: Record<string, (path: string) => string> = {
  ENOENT: (p) =>
    `${p} does not exist, or a folder on its way is missing (does the folder ${parentOf(p)} exist?); check the path or create the folder first`,
  EACCES: (p) => `permission denied for ${p}; choose a location you may write to, or change its permissions`,
  EPERM: (p) => `operation not permitted on ${p}; choose a location you may write to, or change its permissions`,
  EROFS: (p) => `${p} is on a read-only file system; choose a writable location`,
  EEXIST: (p) =>
    `${p} already exists and is in the way (a file where a folder is needed, or the reverse); remove it or choose another path`,
  ENOTDIR: (p) => `a part of ${p} is a file, not a folder; choose a path whose parents are folders`,
  EISDIR: (p) => `${p} is a folder, where a file is needed; choose a file name`,
  ENOSPC: (p) =>
    `no space left on the device holding ${p}; free some space (or choose a location on another disk) and run again`,
  EDQUOT: (p) => `disk quota exceeded for ${p}; free some space or choose another location`,
  EMFILE: (p) => `too many open files while opening ${p}; raise the limit (ulimit -n) or close other programs`,
};

/**
 * "could not <action> <path>: <reason and fix>" for an errno error; `path` defaults to the one the
 * error carries. Non-errno errors keep their message.
 */
export function describeFsError(e: unknown, path?: string, action = "access"): string {
  const code = errnoOf(e);
  const where = path ?? pathOf(e) ?? "the file";
  const fix = code ? FIXES[code] : undefined;
  if (!fix) return `could not ${action} ${where}: ${(e as Error)?.message ?? String(e)}`;
  return `could not ${action} ${where} (${code}): ${fix(where)}`;
}

function parentOf(p: string): string {
  const i = Math.max(p.lastIndexOf("/"), p.lastIndexOf("\\"));
  return i > 0 ? p.slice(0, i) : i === 0 ? p.slice(0, 1) : ".";
}
