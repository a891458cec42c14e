/**
 * The ONE ODE solver module, used by the probability-flow sampler and by the likelihood:
 * adaptive Dormand–Prince RK5(4) with FSAL and error control (Dormand & Prince 1980; Hairer,
 * Nørsett & Wanner, Solving ODEs I, §II.4–5), and fixed-step Euler and Heun. States are flat
 * Float64Array (a batch of points, possibly augmented, e.g. with log-density increments).
 */

/** dy/dt = f(t, y): y [m] → [m]. One call is one function evaluation (nfe). */
export type OdeFunction = (t: number, y: Float64Array) => Promise<Float64Array>;

export type OdeMethod = "rk45" | "euler" | "heun";
export const ODE_METHODS: readonly OdeMethod[] = ["rk45", "euler", "heun"];

export interface OdeOptions {
  /** "rk45" (adaptive, default), "euler" or "heun" (fixed step). */ method?: OdeMethod;
  /** Relative tolerance for rk45 (default 1e-5). */ rtol?: number;
  /** Absolute tolerance for rk45 (default 1e-5). */ atol?: number;
  /** Number of steps for euler/heun (default 100). */ steps?: number;
  /** Euler/Heun time grid t0 = times[0], …, t1 = times[last] (overrides steps; e.g. a named schedule). */ times?: Float64Array;
  /** Cap on rk45 steps, accepted + rejected (default 100000). */ maxSteps?: number;
  /** Initial rk45 step size |h| (default: chosen automatically, Hairer's algorithm). */ h0?: number;
  /**
   * Applied to the state after every accepted step (e.g. a constraint of controllable generation);
   * rk45 then re-evaluates f at the projected state instead of reusing the last stage (FSAL).
   */ project?: (t: number, y: Float64Array) => Float64Array;
  /** Called after every accepted step with the new time and state (do not modify y). */ onStep?: (
    step: number,
    t: number,
    y: Float64Array,
  ) => void;
}

export interface OdeResult {
  /** State at t1. */ y: Float64Array;
  /** Function evaluations made. */ nfe: number;
  /** Accepted steps. */ steps: number;
  /** Rejected rk45 steps. */ rejected: number;
}

// Dormand–Prince 5(4) tableau: nodes c, stage weights a (rows 2..7), 5th-order weights b
// (= last row, FSAL) and error weights e = b − b̂ (b̂ the embedded 4th-order weights).
const C = [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1];
const A: number[][] = [
  [],
  [1 / 5],
  [3 / 40, 9 / 40],
  [44 / 45, -56 / 15, 32 / 9],
  [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
  [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
  [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
];
const E = [71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40];
const SAFETY = 0.9,
  MIN_FACTOR = 0.2,
  MAX_FACTOR = 10;

/** y + h·Σ_j w_j k_j over the stages with non-zero weight. */
function combine(y: Float64Array, h: number, w: readonly number[], k: Float64Array[]): Float64Array {
  const out = Float64Array.from(y);
  w.forEach((wj, j) => {
    if (wj === 0) return;
    const kj = k[j]!,
      c = h * wj;
    for (let i = 0; i < out.length; i++) out[i]! += c * kj[i]!;
  });
  return out;
}

/** Root-mean-square of u_i / (atol + rtol·max(|y_i|, |z_i|)) (Hairer's scaled error norm). */
function scaledRms(u: Float64Array, y: Float64Array, z: Float64Array, rtol: number, atol: number): number {
  let sum = 0;
  for (let i = 0; i < u.length; i++) {
    const sc = atol + rtol * Math.max(Math.abs(y[i]!), Math.abs(z[i]!));
    sum += (u[i]! / sc) ** 2;
  }
  return Math.sqrt(sum / Math.max(u.length, 1));
}

/** Hairer's initial step guess (Solving ODEs I, §II.4): costs one extra evaluation. */
async function initialStep(
  f: OdeFunction,
  t0: number,
  y0: Float64Array,
  f0: Float64Array,
  dir: number,
  span: number,
  rtol: number,
  atol: number,
): Promise<number> {
  const d0 = scaledRms(y0, y0, y0, rtol, atol),
    d1 = scaledRms(f0, y0, y0, rtol, atol);
  const h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * (d0 / d1);
  const hTry = Math.min(h0, span);
  const f1 = await f(t0 + dir * hTry, combine(y0, dir * hTry, [1], [f0]));
  const df = new Float64Array(f0.length);
  for (let i = 0; i < df.length; i++) df[i] = f1[i]! - f0[i]!;
  const d2 = scaledRms(df, y0, y0, rtol, atol) / hTry;
  const h1 = Math.max(d1, d2) <= 1e-15 ? Math.max(1e-6, h0 * 1e-3) : (0.01 / Math.max(d1, d2)) ** (1 / 5);
  return Math.min(100 * h0, h1, span);
}

/** Adaptive Dormand–Prince RK5(4) from t0 to t1 (either direction). */
async function dormandPrince(
  f: OdeFunction,
  y0: Float64Array,
  t0: number,
  t1: number,
  o: OdeOptions,
): Promise<OdeResult> {
  const rtol = o.rtol ?? 1e-5,
    atol = o.atol ?? 1e-5,
    maxSteps = o.maxSteps ?? 100000;
  if (!(rtol > 0) || !(atol > 0)) throw new Error(`ODE solver: "rtol" and "atol" must be > 0 (got ${rtol}, ${atol})`);
  const dir = Math.sign(t1 - t0),
    span = Math.abs(t1 - t0);
  let nfe = 0;
  const fc: OdeFunction = (t, y) => {
    nfe++;
    return f(t, y);
  };
  let t = t0,
    y = y0,
    k1 = await fc(t0, y0);
  let h = o.h0 ?? (await initialStep(fc, t0, y0, k1, dir, span, rtol, atol));
  let steps = 0,
    rejected = 0,
    lastRejected = false;
  while (dir * (t1 - t) > 0) {
    if (steps + rejected >= maxSteps)
      throw new Error(
        `ODE solver: more than maxSteps=${maxSteps} steps before reaching t=${t1} (at t=${t}); loosen rtol/atol or raise maxSteps`,
      );
    const remaining = Math.abs(t1 - t);
    const last = h >= remaining;
    if (last) h = remaining;
    const hs = dir * h;
    const k: Float64Array[] = [k1];
    for (let s = 1; s < 7; s++) k.push(await fc(s === 6 && last ? t1 : t + C[s]! * hs, combine(y, hs, A[s]!, k)));
    const yNew = combine(y, hs, A[6]!, k); // the 5th-order solution (stage 7's argument, FSAL)
    const err = combine(new Float64Array(y.length), hs, E, k);
    const errNorm = scaledRms(err, y, yNew, rtol, atol);
    if (Number.isNaN(errNorm))
      throw new Error(
        `ODE solver: the state became NaN near t=${t}; check the score model (it returned NaN) or the input`,
      );
    if (errNorm <= 1) {
      t = last ? t1 : t + hs;
      y = yNew;
      k1 = k[6]!;
      if (o.project) {
        y = o.project(t, y);
        k1 = await fc(t, y);
      }
      steps++;
      o.onStep?.(steps - 1, t, y);
      const grow = errNorm === 0 ? MAX_FACTOR : Math.min(MAX_FACTOR, SAFETY * errNorm ** -0.2);
      h *= lastRejected ? Math.min(1, grow) : grow;
      lastRejected = false;
    } else {
      h *= Math.max(MIN_FACTOR, SAFETY * errNorm ** -0.2);
      rejected++;
      lastRejected = true;
      if (h < 1e-14 * Math.max(1, Math.abs(t)))
        throw new Error(
          `ODE solver: step size underflow at t=${t}; the ODE may be stiff or produce NaN (check the score model)`,
        );
    }
  }
  return { y, nfe, steps, rejected };
}

/** Fixed-step explicit Euler or Heun (trapezoidal predictor–corrector, 2 evaluations per step). */
async function fixedStep(
  f: OdeFunction,
  y0: Float64Array,
  t0: number,
  t1: number,
  o: OdeOptions,
  heun: boolean,
): Promise<OdeResult> {
  const steps = o.times ? o.times.length - 1 : (o.steps ?? 100);
  if (!Number.isInteger(steps) || steps < 1)
    throw new Error(`ODE solver: "steps" must be a positive integer (got ${steps})`);
  if (o.times && (o.times[0] !== t0 || o.times[steps] !== t1))
    throw new Error(`ODE solver: "times" must run from t0=${t0} to t1=${t1} (got ${o.times[0]} … ${o.times[steps]})`);
  const h = (t1 - t0) / steps;
  const at = (i: number) => (o.times ? o.times[i]! : i === steps ? t1 : t0 + i * h);
  let y = y0,
    nfe = 0;
  for (let i = 0; i < steps; i++) {
    const t = at(i),
      tn = at(i + 1);
    const k1 = await f(t, y);
    nfe++;
    const yE = combine(y, tn - t, [1], [k1]);
    if (heun) {
      const k2 = await f(tn, yE);
      nfe++;
      y = combine(y, tn - t, [0.5, 0.5], [k1, k2]);
    } else y = yE;
    if (o.project) y = o.project(tn, y);
    o.onStep?.(i, tn, y);
  }
  return { y, nfe, steps, rejected: 0 };
}

/** Integrates dy/dt = f(t, y) from t0 to t1 with the chosen method. y0 [m] → y(t1) [m]. */
export function solveOde(
  f: OdeFunction,
  y0: Float64Array,
  t0: number,
  t1: number,
  opts: OdeOptions = {},
): Promise<OdeResult> {
  const method = opts.method ?? "rk45";
  if (method === "rk45") return dormandPrince(f, y0, t0, t1, opts);
  if (method === "euler" || method === "heun") return fixedStep(f, y0, t0, t1, opts, method === "heun");
  throw new Error(`ODE solver: unknown method "${String(method)}"; use one of ${ODE_METHODS.join(", ")}`);
}
