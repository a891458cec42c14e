/** A user-facing failure: printed as one line, exit code 1, no stack trace. */
export class UsageError extends Error {}

/** Parse a number option, naming the flag and the fix on bad input. */
export function numberOpt(
  flag: string,
  v: string | undefined,
  opts: { int?: boolean; min?: number; max?: number; minExclusive?: boolean; maxExclusive?: boolean } = {},
): number | undefined {
  if (v === undefined) return undefined;
  const x = v.trim() === "" ? NaN : Number(v);
  const below = opts.min !== undefined && (opts.minExclusive ? x <= opts.min : x < opts.min);
  const above = opts.max !== undefined && (opts.maxExclusive ? x >= opts.max : x > opts.max);
  if (!Number.isFinite(x) || (opts.int && !Number.isSafeInteger(x)) || below || above) {
    const range = [
      opts.min !== undefined ? `${opts.minExclusive ? ">" : "≥"} ${opts.min}` : "",
      opts.max !== undefined ? `${opts.maxExclusive ? "<" : "≤"} ${opts.max}` : "",
    ]
      .filter(Boolean)
      .join(" and ");
    throw new UsageError(
      `${flag} must be ${opts.int ? "an integer" : "a number"}${range ? ` ${range}` : ""}, got '${v}'`,
    );
  }
  return x;
}

/** One of a fixed set of words. */
export function choiceOpt<T extends string>(flag: string, v: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(v))
    throw new UsageError(`${flag} must be one of ${choices.join(", ")}, got '${v}'`);
  return v as T;
}

/** A random seed: an integer in [0, 2^53 − 1] (what the generator accepts), named by its flag. */
export function seedOpt(flag: string, v: string): number {
  return numberOpt(flag, v, { int: true, min: 0, max: Number.MAX_SAFE_INTEGER })!;
}
