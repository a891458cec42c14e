/**
 * Error against NFE of the deterministic samplers, measured against an exact answer: with the exact
 * score of a Gaussian mixture (src/oracle), the probability-flow ODE (Song et al. 2021, eq. 13) from
 * a fixed x_T has one solution, computed here by adaptive RK45 at a tight tolerance (default
 * rtol = atol = 1e-9). Each method runs from the same x_T; its error is the RMS over all coordinates
 * of x_eps − x_eps_ref. The observed order p is the slope of −log error against log NFE.
 */
import { mixtureOracle } from "../oracle/index.ts";
import { Rng } from "../rng.ts";
import { sample } from "../sampling/registry.ts";
import type { Sde } from "../sde/types.ts";

/** One measured point: outer steps (or the RK45 tolerance), score evaluations and RMS error. */
export interface ConvergencePoint {
  steps?: number;
  rtol?: number;
  nfe: number;
  error: number;
}

/** A method of the study: a registered sampler with fixed options, swept over `steps` (or RK45's tolerance). */
export interface ConvergenceMethod {
  readonly label: string;
  readonly sampler: string;
  readonly options: Readonly<Record<string, unknown>>;
  /** Swept by tolerance (adaptive RK45) instead of by steps. */ readonly adaptive?: boolean;
}

/** The methods of the study (each with its sampler's default schedule). */
export const CONVERGENCE_METHODS: readonly ConvergenceMethod[] = [
  { label: "Euler (PF-ODE)", sampler: "ode", options: { method: "euler" } },
  { label: "DDIM", sampler: "ddim", options: {} },
  { label: "Heun (EDM)", sampler: "heun", options: {} },
  { label: "DPM-Solver++(2M)", sampler: "dpmpp-2m", options: {} },
  { label: "RK45", sampler: "ode", options: { method: "rk45" }, adaptive: true },
];

export interface ConvergenceOptions {
  /** Mixture spec (see src/oracle/spec.ts). */ spec: unknown;
  /** Number of starting points x_T (default 64). */ n?: number;
  /** Seed of x_T (default 7). */ seed?: number;
  /** Step counts of the fixed-step methods (default 10 … 320, doubling). */ steps?: readonly number[];
  /** Tolerances of RK45 (default 1e-2 … 1e-7). */ rtols?: readonly number[];
  /** Reference tolerance (default 1e-9). */ referenceTol?: number;
  /** Methods (default CONVERGENCE_METHODS). */ methods?: readonly ConvergenceMethod[];
}

export interface ConvergenceSeries {
  label: string;
  points: ConvergencePoint[];
  order: number;
}

/** RMS of a − b over all entries. */
export function rmsDiff(a: Float64Array, b: Float64Array): number {
  let sq = 0;
  for (let i = 0; i < a.length; i++) sq += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(sq / a.length);
}

/** Least-squares slope of −log(error) against log(nfe): the observed order p in error ∝ NFE^−p. */
export function observedOrder(points: readonly ConvergencePoint[]): number {
  const xs = points.map((p) => Math.log(p.nfe)),
    ys = points.map((p) => -Math.log(p.error));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length,
    my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let sxy = 0,
    sxx = 0;
  xs.forEach((x, i) => {
    sxy += (x - mx) * (ys[i]! - my);
    sxx += (x - mx) ** 2;
  });
  return sxy / sxx;
}

/** Runs the study on one SDE: the reference solution's nfe and each method's error-vs-NFE series. */
export async function errorVsNfe(
  sde: Sde,
  opts: ConvergenceOptions,
): Promise<{ referenceNfe: number; series: ConvergenceSeries[] }> {
  const n = opts.n ?? 64,
    tol = opts.referenceTol ?? 1e-9;
  const dim = mixtureOracle(opts.spec, sde).dim;
  const xT = sde.priorSample(new Rng(opts.seed ?? 7), n, dim);
  const run = (sampler: string, o: Record<string, unknown>) =>
    sample(sampler, mixtureOracle(opts.spec, sde), sde, { n, rng: new Rng(0), xT, ...o });
  const ref = await run("ode", { method: "rk45", rtol: tol, atol: tol });
  const series: ConvergenceSeries[] = [];
  for (const m of opts.methods ?? CONVERGENCE_METHODS) {
    const points: ConvergencePoint[] = [];
    if (m.adaptive) {
      for (const rtol of opts.rtols ?? [1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7]) {
        const r = await run(m.sampler, { ...m.options, rtol, atol: rtol });
        points.push({ rtol, nfe: r.nfe, error: rmsDiff(r.x, ref.x) });
      }
    } else {
      for (const steps of opts.steps ?? [10, 20, 40, 80, 160, 320]) {
        const r = await run(m.sampler, { ...m.options, steps });
        points.push({ steps, nfe: r.nfe, error: rmsDiff(r.x, ref.x) });
      }
    }
    series.push({ label: m.label, points, order: observedOrder(points) });
  }
  return { referenceNfe: ref.nfe, series };
}
