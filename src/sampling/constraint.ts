import type { Constraint, Corrector, Predictor, StepContext, Update } from "./types.ts";

/**
 * Re-imposes `c` on both outputs of an update whose state is at time `tAfter`:
 * x ← impose(x, a, s, z) with fresh z, x̄ ← impose(x̄, a, s, null) (score_sde's inpainting update).
 */
function imposeAt(u: Update, tAfter: number, ctx: StepContext, c: Constraint): Update {
  const a = ctx.sde.meanCoef(tAfter),
    s = ctx.sde.std(tAfter);
  const z = ctx.rng.normals(u.x.length) as Float64Array;
  return { x: c.impose(u.x, a, s, z), xMean: c.impose(u.xMean, a, s, null) };
}

/** A predictor whose every update (t → s) is followed by the constraint at time s. */
export function constrainedPredictor(p: Predictor, c: Constraint): Predictor {
  return { name: p.name, update: async (x, t, s, ctx) => imposeAt(await p.update(x, t, s, ctx), s, ctx, c) };
}

/** A corrector whose every update (at fixed t) is followed by the constraint at time t. */
export function constrainedCorrector(k: Corrector, c: Constraint): Corrector {
  return { name: k.name, update: async (x, t, s, ctx) => imposeAt(await k.update(x, t, s, ctx), t, ctx, c) };
}
