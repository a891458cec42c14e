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

/**
 * The forward transition of a linear SDE from time s back up to t > s (RePaint's "jump back"):
 * x_t = (a_t/a_s)·x_s + √(s_t² − (a_t/a_s)²·s_s²)·z, z ~ N(0, I) — exact for VE, VP and sub-VP, whose
 * marginal variance from a point mass is s(t)² and whose transition mean coefficient is a_t/a_s.
 * x [n·dim] → a new array [n·dim].
 */
export function renoise(x: Float64Array, s: number, t: number, ctx: StepContext): Float64Array {
  const r = ctx.sde.meanCoef(t) / ctx.sde.meanCoef(s);
  const sd = Math.sqrt(Math.max(0, ctx.sde.std(t) ** 2 - (r * ctx.sde.std(s)) ** 2));
  const z = ctx.rng.normals(x.length);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = r * x[i]! + sd * z[i]!;
  return out;
}

/**
 * A predictor whose every update (t → s) is followed by the constraint at time s. With `resample`
 * U > 1 (harmonization, Lugmayr et al. 2022 "RePaint", jump length 1) each step is taken U times:
 * after every constrained pass but the last the state is sent back from s to t by `renoise` and
 * the predictor runs again, so the unknown part re-mixes with the known part at the same noise
 * level; U score evaluations per step.
 */
export function constrainedPredictor(p: Predictor, c: Constraint, resample = 1): Predictor {
  if (!(Number.isInteger(resample) && resample >= 1))
    throw new Error(`inpainting: "resample" must be an integer ≥ 1 (got ${resample})`);
  return {
    name: p.name,
    update: async (x, t, s, ctx) => {
      let u = imposeAt(await p.update(x, t, s, ctx), s, ctx, c);
      for (let k = 1; k < resample; k++) u = imposeAt(await p.update(renoise(u.x, s, t, ctx), t, s, ctx), s, ctx, c);
      return u;
    },
  };
}

/** A corrector whose every update (at fixed t) is followed by the constraint at time t. */
export function constrainedCorrector(k: Corrector, c: Constraint): Corrector {
  return { name: k.name, update: async (x, t, s, ctx) => imposeAt(await k.update(x, t, s, ctx), t, ctx, c) };
}
