/** A user-facing failure: printed as one line, exit code 1, no stack trace. */
export class UsageError extends Error {}

/** Parse a number option, naming the flag and the fix on bad input. */
export function numberOpt(
  flag: string,
  v: string | undefined,
  opts: { int?: boolean; min?: number; max?: number } = {},
): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (
    !Number.isFinite(x) ||
    (opts.int && !Number.isInteger(x)) ||
    (opts.min !== undefined && x < opts.min) ||
    (opts.max !== undefined && x > opts.max)
  ) {
    const range = [opts.min !== undefined ? `≥ ${opts.min}` : "", opts.max !== undefined ? `≤ ${opts.max}` : ""]
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
