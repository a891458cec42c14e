/** Checks of command-line outputs and sizes: extensions, distinct paths, memory. */
import { constants as bufferConstants } from "node:buffer";
import { totalmem } from "node:os";
import { extname, resolve } from "node:path";
import { UsageError } from "./errors.ts";

/** The output's extension must be one of `allowed` (e.g. [".png"]): a .jpg gets no PNG bytes. */
export function checkExtension(flag: string, path: string, allowed: readonly string[]): string {
  const ext = extname(path).toLowerCase();
  if (!allowed.includes(ext))
    throw new UsageError(
      `${flag} must end in ${allowed.join(", ").replace(/, ([^,]*)$/, " or $1")} (the formats it can write), got '${path}'`,
    );
  return ext;
}

/**
 * No two outputs of one command may be the same file, and no output may overwrite one of its
 * inputs. Entries whose path is undefined are skipped.
 */
export function checkDistinct(
  outputs: Record<string, string | undefined>,
  inputs: Record<string, string | undefined> = {},
): void {
  const seen = new Map<string, string>();
  for (const [flag, p] of Object.entries(inputs)) if (p) seen.set(resolve(p), `input ${flag}`);
  for (const [flag, p] of Object.entries(outputs)) {
    if (!p) continue;
    const key = resolve(p),
      other = seen.get(key);
    if (other)
      throw new UsageError(
        `${flag} ${p} is the same file as ${other.startsWith("input") ? `the ${other}` : other}; writing it would overwrite ${other.startsWith("input") ? "that input" : "that output"}: give ${flag} another path`,
      );
    seen.set(key, flag);
  }
}

/** Bytes this process may plan to allocate: half of the machine's memory. */
export const memoryLimitBytes = (): number => Math.floor(totalmem() / 2);

const fmtBytes = (b: number) => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(1)} GiB` : `${(b / 2 ** 20).toFixed(1)} MiB`);

/**
 * Refuse a size flag whose arrays cannot be allocated: `totalBytes` (all arrays it implies) must
 * fit in {@link memoryLimitBytes} and `largestBytes` (one array) in the runtime's limit.
 */
export function checkMemory(
  flag: string,
  value: number,
  what: string,
  totalBytes: number,
  largestBytes = totalBytes,
): void {
  const limit = memoryLimitBytes();
  if (largestBytes > bufferConstants.MAX_LENGTH || totalBytes > limit) {
    const over =
      largestBytes > bufferConstants.MAX_LENGTH
        ? `one array of ${fmtBytes(largestBytes)}, more than the ${fmtBytes(bufferConstants.MAX_LENGTH)} an array may hold`
        : `about ${fmtBytes(totalBytes)}, more than the ${fmtBytes(limit)} allowed (half of this machine's memory)`;
    throw new UsageError(`${flag} ${value} is too large: ${what} would need ${over}; use a smaller ${flag}`);
  }
}
