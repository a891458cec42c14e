import { transitionKernel } from "../sde/linear.ts";
import type { Corrector, StepContext, Update } from "./types.ts";
import { checkPositiveInt, lincomb, meanRowNorm, scoreAt } from "./util.ts";

/**
 * `iterations` steps of unadjusted Langevin dynamics at fixed t (Song & Ermon 2019, eq. 4):
 * x̄ = x + ε·score(x, t), x = x̄ + √(2ε)·z, where ε = stepSize(score, z) may depend on the batch.
 */
async function langevinIterations(
  x: Float64Array,
  t: number,
  ctx: StepContext,
  iterations: number,
  stepSize: (score: Float64Array, z: Float64Array) => number,
): Promise<Update> {
  let xMean = x;
  for (let k = 0; k < iterations; k++) {
    const score = await scoreAt(ctx.model, x, t, ctx.n);
    const z = ctx.rng.normals(x.length) as Float64Array;
    const eps = stepSize(score, z),
      noiseScale = Math.sqrt(2 * eps);
    xMean = lincomb(1, x, eps, score);
    x = lincomb(1, xMean, noiseScale, z);
  }
  return { x, xMean };
}

/**
 * Langevin corrector with a signal-to-noise step size (Song et al. 2021, Alg. 4–5; score_sde's
 * LangevinCorrector). Each of `steps` iterations at fixed t uses
 * ε = 2α·(snr·‖z‖/‖score‖)² (norms averaged over the batch) with α = r² = (a(t)/a(s))², the
 * one-step signal retention (1 − β_i for VP, 1 for VE).
 */
export function langevinCorrector(snr = 0.16, steps = 1): Corrector {
  if (!(snr > 0)) throw new Error(`Langevin corrector: "snr" must be > 0 (got ${snr})`);
  checkPositiveInt("Langevin corrector", "correctorSteps", steps);
  return {
    name: "langevin",
    update(x, t, s, ctx) {
      const { ratio } = transitionKernel(ctx.sde, s, t);
      const alpha = ratio * ratio;
      return langevinIterations(
        x,
        t,
        ctx,
        steps,
        (score, z) => 2 * alpha * ((snr * meanRowNorm(z, ctx.n)) / meanRowNorm(score, ctx.n)) ** 2,
      );
    },
  };
}

/**
 * Annealed Langevin dynamics at noise level σ_i = s(t) (Song & Ermon 2019, Alg. 1): `steps`
 * iterations of x̄ = x + (α_i/2)·score, x = x̄ + √α_i·z with α_i = ε·σ_i²/σ_L², σ_L = s(eps).
 * Designed for VE/NCSN levels; ε is relative to σ_L, so an SDE whose s(eps) is tiny (sub-VP:
 * s(1e-3) ≈ 1e-4) needs a much smaller ε — ε ≥ 4σ_L² is rejected as unstable.
 */
export function annealedLangevinCorrector(stepLr = 2e-5, steps = 10): Corrector {
  if (!(stepLr > 0)) throw new Error(`annealed Langevin: "stepLr" must be > 0 (got ${stepLr})`);
  checkPositiveInt("annealed Langevin", "correctorSteps", steps);
  return {
    name: "ald",
    update(x, t, _s, ctx) {
      const sigma = ctx.sde.std(t),
        sigmaL = ctx.sde.std(ctx.eps);
      if (stepLr >= 4 * sigmaL * sigmaL) {
        throw new Error(
          `annealed Langevin: "stepLr" ε=${stepLr} is unstable at σ_L = s(eps) = ${sigmaL.toPrecision(3)} (the step ε·σ_i²/σ_L² must stay below 4σ_i², i.e. ε < 4σ_L² = ${(4 * sigmaL * sigmaL).toPrecision(3)}); lower stepLr or raise eps`,
        );
      }
      const alpha = (stepLr * sigma * sigma) / (sigmaL * sigmaL);
      return langevinIterations(x, t, ctx, steps, () => alpha / 2);
    },
  };
}

export type CorrectorName = "langevin" | "ald" | "none";
export const CORRECTOR_NAMES: readonly CorrectorName[] = ["langevin", "ald", "none"];

/** A corrector by name ("none" → null). */
export function correctorByName(
  name: string,
  opts: { snr?: number; correctorSteps?: number; stepLr?: number },
): Corrector | null {
  switch (name) {
    case "langevin":
      return langevinCorrector(opts.snr ?? 0.16, opts.correctorSteps ?? 1);
    case "ald":
      return annealedLangevinCorrector(opts.stepLr ?? 2e-5, opts.correctorSteps ?? 10);
    case "none":
      return null;
    default:
      throw new Error(`unknown corrector "${name}"; use one of ${CORRECTOR_NAMES.join(", ")}`);
  }
}
