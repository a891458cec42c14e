import type { Rng } from "../rng.ts";
import type { ScoreModel } from "../score.ts";
import type { Sde } from "../sde/types.ts";
import type { GaussianMixture } from "./mixture.ts";
import { parseMixtureSpec } from "./spec.ts";

/**
 * The exact score model of Gaussian-mixture data under a linear SDE: p_t is the mixture with
 * components N(a(t)μ_k, a(t)²Σ_k + s(t)² I), so log p_t, ∇ log p_t and ∇² log p_t are exact.
 * Usable wherever a trained ScoreModel is (samplers, likelihood); counts one nfe per call.
 */
export class MixtureOracle implements ScoreModel {
  nfe = 0;
  readonly dim: number;

  constructor(
    readonly mixture: GaussianMixture,
    readonly sde: Sde,
  ) {
    this.dim = mixture.dim;
  }

  private coef(t: Float64Array, n: number) {
    if (t.length !== n) throw new Error(`MixtureOracle: t has length ${t.length} but n = ${n}; pass one time per row`);
    return (i: number) => ({ a: this.sde.meanCoef(t[i]!), s: this.sde.std(t[i]!) });
  }

  /** ∇ₓ log p_t(x): x [n·dim], t [n] → [n·dim]. */
  async score(x: Float64Array, t: Float64Array, n: number): Promise<Float64Array> {
    this.nfe++;
    return this.mixture.evaluate(x, n, this.coef(t, n)).score;
  }

  /** Score and the exact vᵀ ∇ₓ² log p_t(x) per row. */
  async scoreVjp(
    x: Float64Array,
    t: Float64Array,
    n: number,
    v: Float64Array,
  ): Promise<{ score: Float64Array; vjp: Float64Array }> {
    this.nfe++;
    const r = this.mixture.evaluate(x, n, this.coef(t, n), v);
    return { score: r.score, vjp: r.vjp! };
  }

  /** Exact log p_t(x) in nats (does not count as an nfe): x [n·dim], t scalar or [n] → [n]. */
  logProb(x: Float64Array, t: number | Float64Array, n: number): Float64Array {
    const tv = typeof t === "number" ? new Float64Array(n).fill(t) : t;
    return this.mixture.evaluate(x, n, this.coef(tv, n)).logp;
  }

  /** n samples of the data distribution p_0 (the mixture itself): [n·dim]. */
  sampleData(rng: Rng, n: number): Float64Array {
    return this.mixture.sample(rng, n).x;
  }
}

/** Convenience: an oracle from a JSON spec (see `parseMixtureSpec`). */
export function mixtureOracle(spec: string | unknown, sde: Sde): MixtureOracle {
  return new MixtureOracle(parseMixtureSpec(spec), sde);
}
