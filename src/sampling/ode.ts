import type { ScoreModel } from "../score.ts";
import { probabilityFlowDriftFromScore } from "../sde/reverse.ts";
import type { Sde } from "../sde/types.ts";
import { checkFinite, denoiseFinal, initialState, resolveCommon, stateLimit } from "./common.ts";
import { solveOde, type OdeMethod, type OdeOptions } from "./ode-solver.ts";
import { scheduleTimes, type ScheduleOptions } from "./schedules.ts";
import type { Sampler } from "./types.ts";
import { scoreAt } from "./util.ts";

/**
 * Integrates the probability-flow ODE dx/dt = f(x,t) − ½g(t)²·s(x,t) (Song et al. 2021, eq. 13)
 * from t0 to t1 (either direction) for a batch x [n·dim]. One score evaluation per ODE evaluation.
 */
export async function integrateProbabilityFlow(
  model: ScoreModel,
  sde: Sde,
  x: Float64Array,
  n: number,
  t0: number,
  t1: number,
  opts: OdeOptions = {},
): Promise<{ x: Float64Array; nfe: number; steps: number }> {
  const drift = async (t: number, y: Float64Array) =>
    probabilityFlowDriftFromScore(sde, y, await scoreAt(model, y, t, n), t);
  const r = await solveOde(drift, x, t0, t1, opts);
  return { x: r.y, nfe: r.nfe, steps: r.steps };
}

/** Options of the probability-flow ODE sampler. */
export interface OdeSamplerOptions extends ScheduleOptions {
  /** "rk45" (adaptive Dormand–Prince, default), "euler" or "heun" (fixed `steps`, default 100). */ method?: OdeMethod;
  /** RK45 relative tolerance (default 1e-5). */ rtol?: number;
  /** RK45 absolute tolerance (default 1e-5). */ atol?: number;
}

/**
 * Probability-flow ODE sampler: x(T) ~ prior, integrate eq. 13 from T to eps. Deterministic given
 * x(T). `denoise: "tweedie"` adds one score evaluation; "mean" equals "none" (no noise to drop).
 * With `opts.constraint` the constrained part follows a(t)·y + s(t)·z with ONE noise draw z per run
 * (a smooth path the solver can follow), imposed at T and after every step, and equals y at the end.
 */
export const odeSampler: Sampler<OdeSamplerOptions> = async (model, sde, opts) => {
  const startNfe = model.nfe;
  const { n, dim, eps, denoise } = resolveCommon("ODE sampler", model, sde, opts, 100);
  let x0 = initialState(sde, opts, dim);
  const adaptive = (opts.method ?? "rk45") === "rk45";
  if (adaptive && (opts.schedule !== undefined || opts.rho !== undefined)) {
    throw new Error(
      `ODE sampler: "schedule"/"rho" set the grid of the fixed-step methods; use method "euler" or "heun" with them (rk45 chooses its own steps)`,
    );
  }
  const total = adaptive ? undefined : (opts.steps ?? 100);
  const times = adaptive ? undefined : scheduleTimes(opts.schedule ?? "uniform", sde, total!, eps, opts);
  const onStep = (step: number, t: number, y: Float64Array) => {
    checkFinite("ODE sampler", y, step, t, stateLimit(sde));
    opts.onStep?.({ step, total, t, x: y });
  };
  if ((opts.resample ?? 1) !== 1)
    throw new Error(`ODE sampler: "resample" needs a stochastic sampler on the PC loop (pc, em, ancestral, ddim)`);
  const c = opts.constraint,
    z = c ? (opts.rng.normals(n * dim) as Float64Array) : null;
  const project = c ? (t: number, y: Float64Array) => c.impose(y, sde.meanCoef(t), sde.std(t), z) : undefined;
  if (project) x0 = project(sde.T, x0);
  const r = await integrateProbabilityFlow(model, sde, x0, n, sde.T, eps, {
    method: opts.method,
    rtol: opts.rtol,
    atol: opts.atol,
    steps: opts.steps ?? 100,
    onStep,
    project,
    times,
  });
  checkFinite("ODE sampler", r.x, r.steps - 1, eps, stateLimit(sde));
  let x = await denoiseFinal(denoise, r.x, r.x, model, sde, eps, n);
  if (c) x = c.impose(x, 1, 0, null);
  return { x, nfe: model.nfe - startNfe };
};
