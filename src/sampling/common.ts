import type { ScoreModel } from "../score.ts";
import type { Sde } from "../sde/types.ts";
import type { CommonSampleOptions, Denoise } from "./types.ts";
import { checkPositiveInt, scoreAt } from "./util.ts";

/** Validated common options with defaults filled in. */
export interface Resolved {
  n: number;
  dim: number;
  steps: number;
  eps: number;
  denoise: Denoise;
}

/** Checks the common options (clear errors naming the option) and fills defaults. */
export function resolveCommon(
  owner: string,
  model: ScoreModel,
  sde: Sde,
  opts: CommonSampleOptions,
  defaultSteps: number,
): Resolved {
  checkPositiveInt(owner, "n", opts.n);
  const steps = opts.steps ?? defaultSteps;
  checkPositiveInt(owner, "steps", steps);
  const eps = opts.eps ?? sde.eps;
  if (!(eps > 0 && eps < sde.T)) throw new Error(`${owner}: "eps" must lie in (0, T=${sde.T}) (got ${eps})`);
  const denoise = opts.denoise ?? "none";
  if (!["none", "mean", "tweedie"].includes(denoise))
    throw new Error(`${owner}: "denoise" must be none, mean or tweedie (got ${String(denoise)})`);
  if (opts.xT && opts.xT.length !== opts.n * model.dim) {
    throw new Error(
      `${owner}: "xT" has length ${opts.xT.length} but n·dim = ${opts.n * model.dim}; pass a row-major [n·dim] start`,
    );
  }
  return { n: opts.n, dim: model.dim, steps, eps, denoise };
}

/** The starting state at t = T: a copy of opts.xT or a prior sample drawn from opts.rng. */
export function initialState(sde: Sde, opts: CommonSampleOptions, dim: number): Float64Array {
  return opts.xT ? Float64Array.from(opts.xT) : sde.priorSample(opts.rng, opts.n, dim);
}

/**
 * The optional noise-free final step (see `Denoise`). "tweedie" evaluates the score once more at
 * t = eps: x₀ = (x + s(eps)²·score)/a(eps).
 */
export async function denoiseFinal(
  mode: Denoise,
  x: Float64Array,
  xMean: Float64Array,
  model: ScoreModel,
  sde: Sde,
  eps: number,
  n: number,
): Promise<Float64Array> {
  if (mode === "none") return x;
  if (mode === "mean") return xMean;
  const score = await scoreAt(model, x, eps, n);
  const a = sde.meanCoef(eps),
    s2 = sde.std(eps) ** 2;
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (x[i]! + s2 * score[i]!) / a;
  return out;
}

/** A state entry beyond this many prior standard deviations means the sampler has blown up. */
export const ABSURD_STATE_FACTOR = 1e6;

/** The largest |x| a sane state may hold: {@link ABSURD_STATE_FACTOR} × the prior's std. */
export const stateLimit = (sde: Sde): number => ABSURD_STATE_FACTOR * sde.priorStd;

/**
 * Throws a clear error if the state has a non-finite entry or one with |x| > `limit` (see
 * {@link stateLimit}): the sampler diverged, and going on would only write garbage.
 */
export function checkFinite(owner: string, x: Float64Array, step: number, t: number, limit = Infinity): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (Number.isFinite(v) && Math.abs(v) <= limit) continue;
    const what = Number.isFinite(v)
      ? `absurdly large (${v.toExponential(2)} at index ${i}, beyond ${limit.toExponential(0)} = ${ABSURD_STATE_FACTOR.toExponential(0)} × the prior std)`
      : `non-finite (${v} at index ${i})`;
    throw new Error(
      `${owner}: samples became ${what} at step ${step}, t=${t}; the sampler diverged: use more steps or a smaller step size (snr / stepLr), and check the score model`,
    );
  }
}
