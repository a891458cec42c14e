import type { Rng } from "../rng.ts";
import type { ScoreModel } from "../score.ts";
import { probabilityFlowDriftFromScore } from "../sde/reverse.ts";
import type { Sde } from "../sde/types.ts";
import { integrateProbabilityFlow } from "../sampling/ode.ts";
import { solveOde, type OdeMethod } from "../sampling/ode-solver.ts";
import { bitsPerDim } from "./dequantize.ts";
import { makeDivergence, type ProbeKind } from "./divergence.ts";

/** Largest dim for which `divergence: "auto"` uses the exact trace. */
export const EXACT_DIVERGENCE_MAX_DIM = 16;

export interface OdeLikelihoodOptions {
  /** Data time: x is taken as a sample of p_eps (default 1e-5, as score_sde). */ eps?: number;
  /** RK45 tolerances (default 1e-5 each). */ rtol?: number;
  atol?: number;
  /** ODE method (default "rk45"); "euler"/"heun" use `steps` (default 100). */ method?: OdeMethod;
  steps?: number;
}

export interface LikelihoodOptions extends OdeLikelihoodOptions {
  /** "auto" (default: exact when dim ≤ 16), "exact" or "hutchinson". */ divergence?: "auto" | "exact" | "hutchinson";
  /** Hutchinson probe distribution (default "rademacher"). */ probe?: ProbeKind;
  /** Hutchinson probes per point, averaged (default 1). */ probes?: number;
  /** Random stream for the Hutchinson probes (required for "hutchinson"). */ rng?: Rng;
  /** Added to bits/dim, e.g. `bpdOffset(1/256)` = 8 for data scaled from [0,256) to [0,1) (default 0). */ bpdOffset?: number;
}

export interface LikelihoodResult {
  /** log p_eps(x) per point, in nats [n]. */ logp: Float64Array;
  /** Bits per dimension −logp/(dim·ln 2) + bpdOffset [n]. */ bpd: Float64Array;
  /** The latent code x(T) (the probability-flow encoding) [n·dim]. */ z: Float64Array;
  /** log p_T(z) in nats [n]. */ priorLogp: Float64Array;
  /** ∫_eps^T ∇·f̃(x(t),t) dt in nats [n]. */ deltaLogp: Float64Array;
  /** Score evaluations made (each ODE evaluation is one batched scoreVjp call). */ nfe: number;
}

function checkBatch(owner: string, x: Float64Array, n: number, dim: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${owner}: "n" must be a positive integer (got ${n})`);
  if (x.length !== n * dim)
    throw new Error(
      `${owner}: input has length ${x.length} but n·dim = ${n}·${dim} = ${n * dim}; pass a row-major [n·dim] array`,
    );
  const bad = x.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0)
    throw new Error(
      `${owner}: input contains a non-finite value (${x[bad]}) at index ${bad}; clean the data before evaluating`,
    );
}

function resolveEps(owner: string, sde: Sde, eps: number | undefined): number {
  const e = eps ?? 1e-5;
  if (!(e > 0 && e < sde.T)) throw new Error(`${owner}: "eps" must lie in (0, T=${sde.T}) (got ${e})`);
  return e;
}

/**
 * Exact log-likelihood by the probability-flow ODE and the instantaneous change of variables
 * (Song et al. 2021, eq. 39; Chen et al. 2018): integrate from eps to T the augmented system
 * dx/dt = f̃(x,t) = f(x,t) − ½g²s(x,t),  dΔ/dt = ∇·f̃ = c(t)·dim − ½g(t)²·∇·s(x,t),
 * then log p_eps(x) = log p_T(x(T)) + Δ(T). x [n·dim] → per point nats and bits/dim.
 */
export async function logLikelihood(
  model: ScoreModel,
  sde: Sde,
  x: Float64Array,
  n: number,
  opts: LikelihoodOptions = {},
): Promise<LikelihoodResult> {
  const owner = "likelihood",
    dim = model.dim;
  checkBatch(owner, x, n, dim);
  const eps = resolveEps(owner, sde, opts.eps);
  const startNfe = model.nfe;
  const mode = opts.divergence ?? "auto";
  if (!["auto", "exact", "hutchinson"].includes(mode))
    throw new Error(`likelihood: "divergence" must be auto, exact or hutchinson (got ${mode})`);
  const exact = mode === "exact" || (mode === "auto" && dim <= EXACT_DIVERGENCE_MAX_DIM);
  const divergence = makeDivergence(
    model,
    n,
    exact ? "exact" : "hutchinson",
    opts.probe ?? "rademacher",
    opts.probes ?? 1,
    opts.rng,
  );
  const nd = n * dim;
  const augmented = async (t: number, y: Float64Array): Promise<Float64Array> => {
    const xt = y.subarray(0, nd);
    const { score, div } = await divergence(xt, t);
    const out = new Float64Array(nd + n);
    out.set(probabilityFlowDriftFromScore(sde, xt, score, t));
    const c = sde.driftCoef(t),
      g2 = sde.diffusion(t) ** 2;
    for (let i = 0; i < n; i++) out[nd + i] = c * dim - 0.5 * g2 * div[i]!;
    return out;
  };
  const y0 = new Float64Array(nd + n);
  y0.set(x);
  const { y } = await solveOde(augmented, y0, eps, sde.T, {
    method: opts.method,
    rtol: opts.rtol,
    atol: opts.atol,
    steps: opts.steps,
  });
  const z = y.slice(0, nd),
    deltaLogp = y.slice(nd);
  const priorLogp = sde.priorLogProb(z, n, dim);
  const logp = priorLogp.map((p, i) => p + deltaLogp[i]!);
  return { logp, bpd: bitsPerDim(logp, dim, opts.bpdOffset ?? 0), z, priorLogp, deltaLogp, nfe: model.nfe - startNfe };
}

/** Encoding: the probability-flow ODE from eps to T (no divergence): x [n·dim] → z [n·dim]. */
export async function encode(
  model: ScoreModel,
  sde: Sde,
  x: Float64Array,
  n: number,
  opts: OdeLikelihoodOptions = {},
): Promise<{ z: Float64Array; nfe: number }> {
  checkBatch("encode", x, n, model.dim);
  const r = await integrateProbabilityFlow(model, sde, x, n, resolveEps("encode", sde, opts.eps), sde.T, opts);
  return { z: r.x, nfe: r.nfe };
}

/** Decoding: the probability-flow ODE from T to eps: z [n·dim] → x [n·dim]. */
export async function decode(
  model: ScoreModel,
  sde: Sde,
  z: Float64Array,
  n: number,
  opts: OdeLikelihoodOptions = {},
): Promise<{ x: Float64Array; nfe: number }> {
  checkBatch("decode", z, n, model.dim);
  const r = await integrateProbabilityFlow(model, sde, z, n, sde.T, resolveEps("decode", sde, opts.eps), opts);
  return { x: r.x, nfe: r.nfe };
}
