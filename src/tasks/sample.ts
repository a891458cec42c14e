/**
 * Sampling by name with snapshots: runs a registered sampler and keeps up to `frames` evenly
 * spaced copies of the state (for GIFs of the reverse process and trajectory plots).
 */
import { Rng } from "../rng.ts";
import type { ScoreModel } from "../score.ts";
import type { Sde } from "../sde/index.ts";
import { type AnySamplerOptions, getSampler } from "../sampling/registry.ts";
import type { StepInfo } from "../sampling/index.ts";

export interface SampleRun {
  x: Float64Array;
  nfe: number;
  /** Snapshots of the state, first = the prior sample, last = the result. */
  frames: Float64Array[];
  /** Time of each snapshot. */
  times: number[];
  seconds: number;
}

/**
 * `xT` [n·dim]: start from these states at t = T (e.g. latents to decode) instead of prior draws.
 * `rng`: the random stream to draw from instead of `new Rng(seed)` (a shard's own stream).
 */
export async function sampleByName(
  model: ScoreModel,
  sde: Sde,
  sampler: string,
  opts: {
    n: number;
    seed: number;
    rng?: Rng;
    frames?: number;
    options?: AnySamplerOptions;
    onStep?: (i: StepInfo) => void;
    xT?: Float64Array;
  },
): Promise<SampleRun> {
  const entry = getSampler(sampler);
  const rng = opts.rng ?? new Rng(opts.seed);
  const xT = opts.xT ? Float64Array.from(opts.xT) : sde.priorSample(rng.fork(1), opts.n, model.dim);
  const want = opts.frames ?? 0;
  const frames: Float64Array[] = want > 0 ? [xT.slice()] : [];
  const times: number[] = want > 0 ? [sde.T] : [];
  const t0 = performance.now();
  let lastKept = -1;
  const r = await entry.run(model, sde, {
    ...opts.options,
    n: opts.n,
    rng,
    xT,
    onStep: (info) => {
      opts.onStep?.(info);
      if (want <= 0) return;
      const total = info.total ?? 0;
      const every = total > 0 ? Math.max(1, Math.floor(total / want)) : 1;
      if (info.step - lastKept >= every) {
        frames.push(info.x.slice());
        times.push(info.t);
        lastKept = info.step;
      }
    },
  });
  if (want > 0) {
    frames.push(r.x.slice());
    times.push(0);
  }
  return { x: r.x, nfe: r.nfe, frames, times, seconds: (performance.now() - t0) / 1000 };
}
