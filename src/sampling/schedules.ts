/**
 * Time grids for the fixed-step samplers: `steps` + 1 decreasing times from T to eps, chosen by
 * name. Non-uniform grids are laid out in the SDE's noise level σ(t) = s(t)/a(t) or log-SNR
 * λ(t) = −log σ(t) (src/sde/noise-level.ts) and mapped back to t, so one grid works for VE, VP and
 * sub-VP alike.
 */
import { logSnr, noiseLevel, timeOfNoiseLevel } from "../sde/noise-level.ts";
import type { Sde } from "../sde/types.ts";
import { checkPositiveInt, timeGrid } from "./util.ts";

export type ScheduleName = "uniform" | "quadratic" | "karras" | "logsnr";

/** Knobs of the schedules (each reads its own). */
export interface ScheduleOptions {
  /** Time grid (default per sampler: "uniform" for the classic samplers). */ schedule?: ScheduleName;
  /** Karras et al.'s ρ (default 7). */ rho?: number;
}

interface ScheduleEntry {
  readonly summary: string;
  /** steps + 1 times from T down to eps (both included exactly). */
  times(sde: Sde, steps: number, eps: number, opts: ScheduleOptions): Float64Array;
}

/** Times at the given noise levels σ_0 > … > σ_N, with the end points pinned to T and eps. */
function timesOfSigmas(sde: Sde, sigmas: Float64Array, eps: number): Float64Array {
  const times = sigmas.map((s) => timeOfNoiseLevel(sde, s, eps, sde.T));
  times[0] = sde.T;
  times[times.length - 1] = eps;
  return times;
}

/** The table of named schedules. */
export const SCHEDULES: Readonly<Record<ScheduleName, ScheduleEntry>> = {
  uniform: {
    summary: "equally spaced t (score_sde's grid)",
    times: (sde, steps, eps) => timeGrid(sde.T, eps, steps),
  },
  quadratic: {
    summary: "equally spaced √t (DDIM's quadratic skip, Song et al. 2021a App. D.2): more steps at small t",
    times(sde, steps, eps) {
      const hi = Math.sqrt(sde.T),
        lo = Math.sqrt(eps);
      const g = Float64Array.from({ length: steps + 1 }, (_, i) => (hi + (i / steps) * (lo - hi)) ** 2);
      g[0] = sde.T;
      g[steps] = eps;
      return g;
    },
  },
  karras: {
    summary: "σ_i = (σ_max^(1/ρ) + i/N·(σ_min^(1/ρ) − σ_max^(1/ρ)))^ρ (Karras et al. 2022, eq. 5)",
    times(sde, steps, eps, opts) {
      const rho = opts.rho ?? 7;
      if (!(rho > 0 && Number.isFinite(rho)))
        throw new Error(`karras schedule: "rho" must be a positive number (got ${rho}); the default is 7`);
      const hi = noiseLevel(sde, sde.T) ** (1 / rho),
        lo = noiseLevel(sde, eps) ** (1 / rho);
      return timesOfSigmas(
        sde,
        Float64Array.from({ length: steps + 1 }, (_, i) => (hi + (i / steps) * (lo - hi)) ** rho),
        eps,
      );
    },
  },
  logsnr: {
    summary: "equally spaced log-SNR λ = log(a/s) (Lu et al. 2022)",
    times(sde, steps, eps) {
      const hi = logSnr(sde, sde.T),
        lo = logSnr(sde, eps);
      return timesOfSigmas(
        sde,
        Float64Array.from({ length: steps + 1 }, (_, i) => Math.exp(-(hi + (i / steps) * (lo - hi)))),
        eps,
      );
    },
  },
};

export const SCHEDULE_NAMES = Object.keys(SCHEDULES) as readonly ScheduleName[];

/**
 * Default grid of the DPM-Solver++ samplers, measured on Gaussian mixtures with the exact score
 * (README, "Fast samplers"): log-SNR uniform for VE (there it equals uniform t), DDIM's quadratic
 * time grid for VP and sub-VP, whose log-SNR grid spends about half its steps below σ = 0.1 (sub-VP:
 * σ(eps) ≈ 1e-4) where data predictions barely change.
 */
export function defaultDpmSchedule(sdeName: string): ScheduleName {
  return sdeName === "ve" ? "logsnr" : "quadratic";
}

/** The grid of schedule `name` (clear errors for unknown names and bad step counts). */
export function scheduleTimes(
  name: string,
  sde: Sde,
  steps: number,
  eps: number,
  opts: ScheduleOptions = {},
): Float64Array {
  const entry = SCHEDULES[name as ScheduleName];
  if (!entry || !Object.hasOwn(SCHEDULES, name))
    throw new Error(`unknown schedule "${name}"; use one of ${SCHEDULE_NAMES.join(", ")}`);
  checkPositiveInt(`${name} schedule`, "steps", steps);
  return entry.times(sde, steps, eps, opts);
}
