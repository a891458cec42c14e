/**
 * Training objectives. The host draws, per example, the time t, the perturbation kernel's mean
 * coefficient a and std s, the network's conditioning value c, the affine map (α, β) from raw
 * output to score (src/sde/parameterization.ts) and the weight λ; the traced loss does the rest.
 * Every objective is "weighted score matching" on x_t = a·x₀ + s·z (Song et al. 2021, eq. 7):
 *
 *  - dsm            λ(t) = s(t)²             (Song & Ermon 2019; Song et al. 2021 §3.3)
 *  - dsm-likelihood λ(t) = g(t)²             (Song, Durkan et al. 2021, likelihood weighting)
 * Continuous-time losses draw t uniformly on [eps, T], or (options.importance) with density
 * ∝ g²/s² and the weight divided by p(t)(T − eps) (./time-sampling.ts).
 *  - ncsn           λ(σ) = σ²/2 on geometric levels σ_i, VE perturbation (Song & Ermon 2019 eq. 6)
 *  - ddpm           ‖z − ε̂‖² with DDPM's discrete ᾱ_i (Ho et al. 2020 eq. 14; = dsm with λ = s²)
 *  - ssm / ssm-vr   sliced score matching on x_t (Song et al. 2020): vᵀ∇ₓ(vᵀs) + ½(vᵀs)² or
 *                   + ½‖s‖² (variance reduced), weighted by s(t)²; needs a VJP inside the loss.
 * DSM per example: λ·‖score(x_t) + z/s‖² summed over dimensions; the loss is the batch mean.
 */
import * as E from "../engine/index.ts";
import { conditionFor, type ModelSpec, traceNetwork } from "../models/registry.ts";
import type { Rng } from "../rng.ts";
import { ddpmSchedule, ncsnSigmas, scoreCoefficients, type Sde } from "../sde/index.ts";
import { importanceDensity, importanceTime } from "./time-sampling.ts";

export const OBJECTIVES = ["dsm", "dsm-likelihood", "ssm", "ssm-vr", "ddpm", "ncsn"] as const;
export type Objective = (typeof OBJECTIVES)[number];

export interface ObjectiveOptions {
  /** Smallest training time (score_sde: 1e-5). */
  eps?: number;
  /** NCSN: number of noise levels L (default 10 for low-dimensional data). */
  levels?: number;
  /** Sliced score matching probe: "rademacher" or "gaussian". */
  probe?: "rademacher" | "gaussian";
  /**
   * Draw t with density ∝ g²/s² and reweight by λ(t)/(p(t)(T − eps)) (Song et al. 2021b): the same
   * objective in expectation with less variance for `dsm-likelihood`. Continuous-time objectives only.
   */
  importance?: boolean;
}

export function checkObjective(name: string): Objective {
  if (!(OBJECTIVES as readonly string[]).includes(name))
    throw new Error(`unknown loss '${name}'; use one of: ${OBJECTIVES.join(", ")}`);
  return name as Objective;
}

const PER_EXAMPLE = ["t", "c", "mean", "std", "alpha", "beta", "weight"] as const;

/** The traced loss and the batch inputs it reads. x0, z (and v for ssm) have shape [n, ...dataShape]; y [n] labels for conditional specs. */
export function traceLoss(
  objective: Objective,
  spec: ModelSpec,
  ps: E.ParamScope,
  n: number,
): { loss: E.Tensor; inputs: E.Tensor[] } {
  const dt = spec.dtype,
    shape = [n, ...spec.dataShape];
  const x0 = E.input("x0", shape, dt),
    z = E.input("z", shape, dt);
  const col = Object.fromEntries(PER_EXAMPLE.map((k) => [k, E.input(k, [n], dt)])) as Record<
    (typeof PER_EXAMPLE)[number],
    E.Tensor
  >;
  const bc = (t: E.Tensor) => E.reshape(t, [n, ...spec.dataShape.map(() => 1)]);
  const xt = E.add(E.mul(bc(col.mean), x0), E.mul(bc(col.std), z));
  const y = spec.classes ? E.input("y", [n], "int64") : undefined;
  const score = E.add(E.mul(bc(col.alpha), traceNetwork(spec, ps, xt, col.c, y)), E.mul(bc(col.beta), xt));
  const dims = spec.dataShape.map((_, i) => i + 1);
  const inputs = [x0, z, ...PER_EXAMPLE.filter((k) => k !== "t").map((k) => col[k]), ...(y ? [y] : [])];
  let perExample: E.Tensor;
  if (objective === "ssm" || objective === "ssm-vr") {
    const v = E.input("v", shape, dt);
    inputs.push(v);
    const [jv] = E.vjp([score], [v], [xt]);
    const trace = E.sum(E.mul(jv!, v), dims);
    const quad = objective === "ssm" ? E.square(E.sum(E.mul(v, score), dims)) : E.sum(E.square(score), dims);
    perExample = E.add(trace, E.mul(quad, 0.5));
  } else {
    perExample = E.sum(E.square(E.add(score, E.div(z, bc(col.std)))), dims);
  }
  return { loss: E.mean(E.mul(col.weight, perExample)), inputs };
}

/** Host-side per-example draws for one batch: feeds for every per-example input of traceLoss. */
export function drawBatch(
  objective: Objective,
  spec: ModelSpec,
  sde: Sde,
  n: number,
  rng: Rng,
  opts: ObjectiveOptions = {},
): Record<string, Float64Array> {
  const cols = Object.fromEntries(PER_EXAMPLE.map((k) => [k, new Float64Array(n)])) as Record<
    (typeof PER_EXAMPLE)[number],
    Float64Array
  >;
  const eps = opts.eps ?? 1e-5;
  const cond = conditionFor(spec, sde);
  const ddpm = objective === "ddpm" ? ddpmSchedule() : undefined;
  if (!(eps > 0 && eps < sde.T))
    throw new Error(
      `loss ${objective}: the smallest training time (t_min / eps) must lie in (0, T=${sde.T}) (got ${eps})`,
    );
  if (opts.importance && (objective === "ddpm" || objective === "ncsn")) {
    throw new Error(
      `loss ${objective}: importance sampling of t applies to the continuous-time losses (dsm, dsm-likelihood, ssm, ssm-vr); ${objective} uses discrete levels`,
    );
  }
  const sigmas =
    objective === "ncsn"
      ? ncsnSigmas({ levels: opts.levels ?? 10, sigmaMin: sde.std(eps), sigmaMax: sde.std(sde.T) })
      : undefined;
  for (let i = 0; i < n; i++) {
    let t: number, mean: number, std: number, weight: number;
    if (ddpm) {
      const k = rng.int(ddpm.betas.length);
      t = (k + 1) / ddpm.betas.length; // DDPM step k+1 ↔ continuous VP time (k+1)/N
      mean = Math.sqrt(ddpm.alphaBars[k]!);
      std = Math.sqrt(1 - ddpm.alphaBars[k]!);
      weight = std * std;
    } else if (sigmas) {
      std = sigmas[rng.int(sigmas.length)]!;
      t = timeOfStd(sde, std, eps);
      mean = 1;
      weight = 0.5 * std * std;
    } else {
      t = opts.importance ? importanceTime(sde, eps, rng.uniform()) : eps + rng.uniform() * (sde.T - eps);
      mean = sde.meanCoef(t);
      std = sde.std(t);
      weight = objective === "dsm-likelihood" ? sde.diffusion(t) ** 2 : std * std;
      if (opts.importance) weight /= importanceDensity(sde, eps, t) * (sde.T - eps);
    }
    const { alpha, beta } = scoreCoefficients(spec.parameterization, mean, std);
    cols.t[i] = t;
    cols.c[i] = cond(t);
    cols.mean[i] = mean;
    cols.std[i] = std;
    cols.weight[i] = weight;
    cols.alpha[i] = alpha;
    cols.beta[i] = beta;
  }
  return cols;
}

/** The time at which a VE-type SDE's std equals σ (bisection; std is increasing in t). */
export function timeOfStd(sde: Sde, sigma: number, eps: number): number {
  let lo = eps,
    hi = sde.T;
  for (let k = 0; k < 60; k++) {
    const mid = 0.5 * (lo + hi);
    if (sde.std(mid) < sigma) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/** Draw the noise z (and the probe v for sliced score matching) for a batch: [n·dim] each. */
export function drawNoise(
  objective: Objective,
  n: number,
  dim: number,
  rng: Rng,
  opts: ObjectiveOptions = {},
): Record<string, Float64Array> {
  const z = rng.normals(n * dim) as Float64Array;
  if (objective !== "ssm" && objective !== "ssm-vr") return { z };
  const v = (opts.probe ?? "rademacher") === "gaussian" ? rng.normals(n * dim) : rng.rademachers(n * dim);
  return { z, v: v as Float64Array };
}
