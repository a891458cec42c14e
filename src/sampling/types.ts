import type { Rng } from "../rng.ts";
import type { ScoreModel } from "../score.ts";
import type { Sde } from "../sde/types.ts";

/** What every sampler reports after each outer step (for progress bars, GIF frames, the playground). */
export interface StepInfo {
  /** 0-based index of the step just taken. */ step: number;
  /** Number of steps, when known in advance (undefined for adaptive solvers). */ total: number | undefined;
  /** Time reached by this step. */ t: number;
  /** Current state [n·dim] — read it or copy it, do not modify it. */ x: Float64Array;
}

/**
 * Noise-free final step. "none": the last state as is. "mean": the mean of the last update (the
 * last step's noise is dropped; score_sde's `denoise=True`). "tweedie": one more score evaluation at
 * t = eps and E[x₀ | x_eps] = (x + s(eps)²·score)/a(eps) (Tweedie's formula; a = 1 for VE).
 */
export type Denoise = "none" | "mean" | "tweedie";

/** Options shared by every sampler. */
export interface CommonSampleOptions {
  /** Number of samples. */ n: number;
  /** Explicit random stream; the same seed gives the same samples. */ rng: Rng;
  /** Number of outer steps (default: the sampler's own default, usually sde.N). */ steps?: number;
  /** Smallest time reached (default sde.eps). */ eps?: number;
  /** Noise-free final step (default "none"). */ denoise?: Denoise;
  /** Called after each outer step. */ onStep?: (info: StepInfo) => void;
  /** Starting state at t = T [n·dim] (default: a sample of the prior). */ xT?: Float64Array;
  /**
   * Re-imposed after every update (inpainting, colorization; see `Constraint`). Samplers built on
   * the PC loop and the ODE sampler honor it; the final state satisfies it exactly.
   */
  constraint?: Constraint;
  /**
   * With a constraint, samplers on the PC loop take each predictor step this many times, re-noising
   * back between passes (RePaint's resampling; see `constrainedPredictor`); default 1. The ODE
   * sampler refuses values > 1 (its path is deterministic).
   */
  resample?: number;
}

/**
 * Part of the state pinned to known data y (Song et al. 2021, App. I): after every predictor or
 * corrector update at time t the constrained part is replaced by a forward-perturbed copy
 * a(t)·y + s(t)·z of the data (a, s the perturbation kernel's mean coefficient and std).
 */
export interface Constraint {
  /**
   * x [n·dim] with the constrained part replaced by a·y + s·z (z [n·dim] standard normals; null → the
   * mean a·y). Returns a new array; (a, s) = (1, 0) pins the data itself.
   */
  impose(x: Float64Array, a: number, s: number, z: Float64Array | null): Float64Array;
}

/** What every sampler returns: samples [n·dim] and the number of score evaluations made. */
export interface SampleResult {
  x: Float64Array;
  nfe: number;
}

/** The one sampler signature. `O` holds a sampler's own options. */
export type Sampler<O extends object = object> = (
  model: ScoreModel,
  sde: Sde,
  opts: CommonSampleOptions & O,
) => Promise<SampleResult>;

/** What predictors and correctors see. */
export interface StepContext {
  readonly model: ScoreModel;
  readonly sde: Sde;
  readonly n: number;
  readonly dim: number;
  readonly rng: Rng;
  /** Final (smallest) time of the run. */ readonly eps: number;
}

/** Result of one predictor or corrector update: the new state and its noise-free mean. */
export interface Update {
  x: Float64Array;
  xMean: Float64Array;
}

/** A predictor: one step of a reverse-time discretization from time t down to s < t. */
export interface Predictor {
  readonly name: string;
  update(x: Float64Array, t: number, s: number, ctx: StepContext): Promise<Update>;
}

/** A corrector: score-based MCMC targeting p_t at fixed t (next time s is given for step-size rules). */
export interface Corrector {
  readonly name: string;
  update(x: Float64Array, t: number, s: number, ctx: StepContext): Promise<Update>;
}
