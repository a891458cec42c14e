import type { ScoreModel } from "../score.ts";
import type { Sde } from "../sde/types.ts";
import { CORRECTOR_NAMES } from "./correctors.ts";
import { odeSampler, type OdeSamplerOptions } from "./ode.ts";
import { ODE_METHODS } from "./ode-solver.ts";
import {
  ALD_DEFAULTS,
  aldSampler,
  ancestralSampler,
  ddimSampler,
  eulerMaruyamaSampler,
  pcSampler,
  type PcOptions,
} from "./pc.ts";
import { PREDICTOR_NAMES } from "./predictors.ts";
import type { CommonSampleOptions, SampleResult, Sampler } from "./types.ts";
import type { ChurnOptions } from "./edm.ts";
import {
  FAST_DEFAULT_STEPS,
  dpmSolverPP2MSampler,
  dpmSolverPP2MSdeSampler,
  dpmSolverPP2SSampler,
  heunSampler,
} from "./fast.ts";
import { SCHEDULE_NAMES, type ScheduleName } from "./schedules.ts";

export type SamplerName =
  | "em"
  | "pc"
  | "ald"
  | "ancestral"
  | "ode"
  | "ddim"
  | "dpmpp-2m"
  | "dpmpp-2s"
  | "dpmpp-2m-sde"
  | "heun";
export const SAMPLER_NAMES: readonly SamplerName[] = [
  "em",
  "pc",
  "ald",
  "ancestral",
  "ode",
  "ddim",
  "dpmpp-2m",
  "dpmpp-2s",
  "dpmpp-2m-sde",
  "heun",
];

/** Every sampler-specific option (all optional); each sampler reads its own. */
export type AnySamplerOptions = PcOptions & OdeSamplerOptions & ChurnOptions;

/** A command-line-settable option: its name, type, default (as text) and meaning. */
export interface OptionSpec {
  readonly name: string;
  readonly type: "number" | "int" | "enum";
  readonly values?: readonly string[];
  readonly default: string;
  readonly doc: string;
}

export interface SamplerEntry {
  readonly name: SamplerName;
  readonly summary: string;
  /** Options this sampler accepts besides n, rng, onStep, xT (steps/eps/denoise included). */
  readonly options: readonly OptionSpec[];
  readonly run: Sampler<AnySamplerOptions>;
}

const num = (name: string, def: string, doc: string): OptionSpec => ({ name, type: "number", default: def, doc });
const int = (name: string, def: string, doc: string): OptionSpec => ({ name, type: "int", default: def, doc });
const oneOf = (name: string, values: readonly string[], def: string, doc: string): OptionSpec => ({
  name,
  type: "enum",
  values,
  default: def,
  doc,
});

const steps = (def: string) => int("steps", def, "number of outer steps");
const COMMON: readonly OptionSpec[] = [
  num("eps", "sde.eps (1e-5 VE, 1e-3 VP/sub-VP)", "smallest time reached"),
  oneOf("denoise", ["none", "mean", "tweedie"], "none", "noise-free final step"),
];
/** The time-grid options of every fixed-step sampler (default schedule per sampler). */
const schedule = (def: ScheduleName | string): OptionSpec[] => [
  oneOf(
    "schedule",
    SCHEDULE_NAMES,
    def,
    "time grid: uniform t, quadratic (√t uniform), karras (σ^(1/ρ) uniform) or logsnr (log-SNR uniform)",
  ),
  num("rho", "7", "Karras schedule ρ"),
];
const CHURN: readonly OptionSpec[] = [
  num("sChurn", "0", "EDM S_churn (0 = deterministic Alg. 1)"),
  num("sTmin", "0", "EDM S_tmin: churn only where σ ≥ this"),
  num("sTmax", "Infinity", "EDM S_tmax: churn only where σ ≤ this"),
  num("sNoise", "1", "EDM S_noise: std multiplier of the churn noise"),
];
const VARIANCE = oneOf(
  "variance",
  ["beta", "posterior"],
  "posterior for VE, beta otherwise",
  "ancestral reverse variance",
);
const ETA = num("eta", "0", "DDIM stochasticity η (0 = deterministic)");

/** The samplers by name (what a CLI selects with --sampler). */
export const SAMPLERS: Readonly<Record<SamplerName, SamplerEntry>> = {
  em: {
    name: "em",
    summary: "Euler–Maruyama on the reverse-time SDE",
    run: eulerMaruyamaSampler,
    options: [steps("sde.N (1000)"), ...COMMON, ...schedule("uniform")],
  },
  pc: {
    name: "pc",
    summary: "predictor–corrector (default reverse diffusion + Langevin)",
    run: pcSampler,
    options: [
      steps("sde.N (1000)"),
      ...COMMON,
      oneOf("predictor", PREDICTOR_NAMES, "reverse-diffusion", "predictor"),
      oneOf("corrector", CORRECTOR_NAMES, "langevin", "corrector"),
      num("snr", "0.16", "Langevin signal-to-noise ratio"),
      int("correctorSteps", "1 (10 for ald)", "corrector iterations per step"),
      num("stepLr", "2e-5", "ALD base step ε"),
      ETA,
      VARIANCE,
      ...schedule("uniform"),
    ],
  },
  ald: {
    name: "ald",
    summary: "annealed Langevin dynamics (NCSN)",
    run: aldSampler,
    options: [
      steps(`${ALD_DEFAULTS.levels} (noise levels)`),
      ...COMMON,
      int("correctorSteps", String(ALD_DEFAULTS.correctorSteps), "Langevin iterations per level"),
      num("stepLr", String(ALD_DEFAULTS.stepLr), "base step ε (step ε·σ_i²/σ_L²)"),
    ],
  },
  ancestral: {
    name: "ancestral",
    summary: "ancestral sampling (DDPM / SMLD)",
    run: ancestralSampler,
    options: [steps("sde.N (1000)"), ...COMMON, VARIANCE, ...schedule("uniform")],
  },
  ode: {
    name: "ode",
    summary: "probability-flow ODE (RK45 / Euler / Heun)",
    run: odeSampler,
    options: [
      steps("100 (euler/heun only)"),
      ...COMMON,
      oneOf("method", ODE_METHODS, "rk45", "ODE method"),
      num("rtol", "1e-5", "RK45 relative tolerance"),
      num("atol", "1e-5", "RK45 absolute tolerance"),
      ...schedule("uniform"),
    ],
  },
  ddim: {
    name: "ddim",
    summary: "DDIM (η = 0 deterministic)",
    run: ddimSampler,
    options: [steps("100"), ...COMMON, ETA, ...schedule("uniform")],
  },
  "dpmpp-2m": {
    name: "dpmpp-2m",
    summary: "DPM-Solver++(2M): multistep, data prediction, log-SNR time (1 nfe/step)",
    run: dpmSolverPP2MSampler,
    options: [steps(String(FAST_DEFAULT_STEPS)), ...COMMON, ...schedule("logsnr for VE, quadratic for VP/sub-VP")],
  },
  "dpmpp-2s": {
    name: "dpmpp-2s",
    summary: "DPM-Solver++(2S): singlestep second order (2 nfe/step)",
    run: dpmSolverPP2SSampler,
    options: [steps(String(FAST_DEFAULT_STEPS)), ...COMMON, ...schedule("logsnr for VE, quadratic for VP/sub-VP")],
  },
  "dpmpp-2m-sde": {
    name: "dpmpp-2m-sde",
    summary: "SDE-DPM-Solver++(2M): stochastic multistep (1 nfe/step)",
    run: dpmSolverPP2MSdeSampler,
    options: [steps(String(FAST_DEFAULT_STEPS)), ...COMMON, ...schedule("logsnr for VE, quadratic for VP/sub-VP")],
  },
  heun: {
    name: "heun",
    summary: "EDM Heun (Karras et al. 2022 Alg. 1; Alg. 2 with --s-churn) (2 nfe/step)",
    run: heunSampler,
    options: [steps(String(FAST_DEFAULT_STEPS)), ...COMMON, ...schedule("karras"), ...CHURN],
  },
};

/** The registry entry for `name`, or a clear error listing the valid names. */
export function getSampler(name: string): SamplerEntry {
  if (!(SAMPLER_NAMES as readonly string[]).includes(name)) {
    throw new Error(`unknown sampler "${name}"; use one of ${SAMPLER_NAMES.join(", ")}`);
  }
  return SAMPLERS[name as SamplerName];
}

/**
 * Converts textual options (e.g. from the command line) into typed ones for sampler `name`:
 * unknown option names, non-numbers and values outside an enum get a clear error.
 */
export function parseSamplerOptions(
  name: string,
  raw: Readonly<Record<string, string | number>>,
): Record<string, string | number> {
  const entry = getSampler(name);
  const out: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(raw)) {
    const spec = entry.options.find((o) => o.name === key);
    if (!spec)
      throw new Error(
        `sampler "${name}" has no option "${key}"; its options are: ${entry.options.map((o) => o.name).join(", ")}`,
      );
    if (spec.type === "enum") {
      if (!spec.values!.includes(String(value)))
        throw new Error(
          `sampler "${name}": option "${key}" must be one of ${spec.values!.join(", ")} (got "${value}")`,
        );
      out[key] = String(value);
    } else {
      const v = typeof value === "number" ? value : Number(value);
      if (!Number.isFinite(v) || (spec.type === "int" && !Number.isInteger(v))) {
        throw new Error(
          `sampler "${name}": option "${key}" must be ${spec.type === "int" ? "an integer" : "a number"} (got "${value}")`,
        );
      }
      out[key] = v;
    }
  }
  return out;
}

/** Runs sampler `name` (the one signature: model, sde, options → { x [n·dim], nfe }). */
export async function sample(
  name: string,
  model: ScoreModel,
  sde: Sde,
  opts: CommonSampleOptions & AnySamplerOptions,
): Promise<SampleResult> {
  return getSampler(name).run(model, sde, opts);
}
