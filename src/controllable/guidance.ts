/**
 * Guided scores (Song et al. 2021, §5 and App. I.4): p_t(x | y) ∝ p_t(y | x)·p_t(x), so
 * ∇ₓ log p_t(x | y) = ∇ₓ log p_t(x) + ∇ₓ log p_t(y | x). Both guidance kinds are ScoreModels, so
 * every sampler (and the likelihood, where the classifier gives its Hessian) uses them unchanged.
 */
import { GaussianMixture } from "../oracle/mixture.ts";
import type { NoisyClassifier, ScoreModel } from "../score.ts";

export type { NoisyClassifier };
import type { Sde } from "../sde/types.ts";

/** Labels for a batch of n rows: one class for all, or one per row. */
function labelsFor(y: number | Int32Array, n: number): Int32Array {
  if (typeof y === "number") return new Int32Array(n).fill(y);
  if (y.length !== n)
    throw new Error(`guidance: ${y.length} class labels for a batch of ${n} rows; give one label per sample`);
  return y;
}

function checkClass(y: number | Int32Array, classes: number): void {
  const bad = (typeof y === "number" ? [y] : [...y]).find((k) => !Number.isInteger(k) || k < 0 || k >= classes);
  if (bad !== undefined)
    throw new Error(`guidance: class ${bad} is out of range; the classifier knows classes 0 to ${classes - 1}`);
}

/**
 * Classifier guidance: s(x, t) + scale·∇ₓ log p_t(y | x) (Song et al. 2021, eq. 14 with a weight;
 * Dhariwal & Nichol 2021's scale). `y` one class for every row or one per row [n].
 */
export function classifierGuided(
  model: ScoreModel,
  clf: NoisyClassifier,
  y: number | Int32Array,
  scale: number,
): ScoreModel {
  if (clf.dim !== model.dim)
    throw new Error(
      `classifier guidance: the classifier takes inputs of dimension ${clf.dim} but the score model's dimension is ${model.dim}`,
    );
  if (!Number.isFinite(scale)) throw new Error(`classifier guidance: scale must be a finite number (got ${scale})`);
  checkClass(y, clf.classes);
  const guided: ScoreModel = {
    dim: model.dim,
    nfe: 0,
    async score(x, t, n) {
      guided.nfe++;
      const s = await model.score(x, t, n);
      if (scale === 0) return s;
      const { grad } = await clf.logProbGrad(x, t, n, labelsFor(y, n));
      for (let i = 0; i < s.length; i++) s[i]! += scale * grad[i]!;
      return s;
    },
    async scoreVjp(x, t, n, v) {
      guided.nfe++;
      const r = await model.scoreVjp(x, t, n, v);
      if (scale === 0) return r;
      if (!clf.gradVjp)
        throw new Error(
          "classifier guidance: this classifier gives no Hessian–vector products, so likelihoods of the guided model are not available; use the guided model for sampling only",
        );
      const c = await clf.gradVjp(x, t, n, labelsFor(y, n), v);
      const score = r.score.map((s, i) => s + scale * c.grad[i]!),
        vjp = r.vjp.map((s, i) => s + scale * c.vjp[i]!);
      return { score, vjp };
    },
  };
  return guided;
}

/**
 * Classifier-free guidance (Ho & Salimans 2021): (1 + w)·s(x, t | y) − w·s(x, t) from a conditional
 * score `cond` and an unconditional one `uncond` (for a model trained with label dropout, the same
 * network given the null label). w = 0 returns the conditional score itself (uncond is not called).
 */
export function classifierFreeGuided(cond: ScoreModel, uncond: ScoreModel, w: number): ScoreModel {
  if (cond.dim !== uncond.dim)
    throw new Error(
      `classifier-free guidance: conditional (dimension ${cond.dim}) and unconditional (${uncond.dim}) scores differ in dimension`,
    );
  if (!Number.isFinite(w)) throw new Error(`classifier-free guidance: w must be a finite number (got ${w})`);
  const mix = (c: Float64Array, u: Float64Array) => c.map((ci, i) => (1 + w) * ci - w * u[i]!);
  const guided: ScoreModel = {
    dim: cond.dim,
    nfe: 0,
    async score(x, t, n) {
      guided.nfe++;
      const c = await cond.score(x, t, n);
      return w === 0 ? c : mix(c, await uncond.score(x, t, n));
    },
    async scoreVjp(x, t, n, v) {
      guided.nfe++;
      const c = await cond.scoreVjp(x, t, n, v);
      if (w === 0) return c;
      const u = await uncond.scoreVjp(x, t, n, v);
      return { score: mix(c.score, u.score), vjp: mix(c.vjp, u.vjp) };
    },
  };
  return guided;
}

/**
 * The exact noise-conditional classifier of a Gaussian mixture whose classes are its components
 * (numbered from 0): log p_t(k | x) = log r_k(x), the responsibility under the perturbed mixture, and
 * ∇ₓ log p_t(k | x) = ∇ₓ log N_k,t(x) − ∇ₓ log p_t(x) (component score minus mixture score), with
 * exact Hessian–vector products likewise. So guidance at scale 1 gives component k's exact score.
 */
export class MixtureClassifier implements NoisyClassifier {
  readonly dim: number;
  readonly classes: number;
  /** Component k alone, as a one-component mixture. */
  private readonly parts: GaussianMixture[];

  constructor(
    readonly mixture: GaussianMixture,
    readonly sde: Sde,
  ) {
    this.dim = mixture.dim;
    this.classes = mixture.K;
    const d = mixture.dim,
      cs = mixture.kind === "diag" ? d : d * d;
    this.parts = Array.from(
      { length: mixture.K },
      (_, k) =>
        new GaussianMixture(
          d,
          Float64Array.of(1),
          mixture.means.slice(k * d, (k + 1) * d),
          mixture.kind,
          mixture.cov.slice(k * cs, (k + 1) * cs),
        ),
    );
  }

  private coef(t: Float64Array) {
    return (i: number) => ({ a: this.sde.meanCoef(t[i]!), s: this.sde.std(t[i]!) });
  }

  /** Rows grouped by label, so each component is evaluated once per batch. */
  private byLabel(y: Int32Array): Map<number, number[]> {
    const groups = new Map<number, number[]>();
    y.forEach((k, i) => {
      if (!(k >= 0 && k < this.classes))
        throw new Error(`oracle classifier: class ${k} is out of range 0 to ${this.classes - 1}`);
      (groups.get(k) ?? groups.set(k, []).get(k)!).push(i);
    });
    return groups;
  }

  /** Component k's score (and vjp) at the given rows. */
  private partAt(k: number, rows: number[], x: Float64Array, t: Float64Array, v?: Float64Array) {
    const d = this.dim,
      pick = (a: Float64Array) => {
        const o = new Float64Array(rows.length * d);
        rows.forEach((r, j) => o.set(a.subarray(r * d, (r + 1) * d), j * d));
        return o;
      };
    const tr = Float64Array.from(rows, (r) => t[r]!);
    return this.parts[k]!.evaluate(pick(x), rows.length, this.coef(tr), v && pick(v));
  }

  async logProbGrad(
    x: Float64Array,
    t: Float64Array,
    n: number,
    y: Int32Array,
  ): Promise<{ logp: Float64Array; grad: Float64Array }> {
    const d = this.dim,
      all = this.mixture.evaluate(x, n, this.coef(t));
    const logp = new Float64Array(n),
      grad = new Float64Array(n * d);
    for (const [k, rows] of this.byLabel(y)) {
      const part = this.partAt(k, rows, x, t);
      rows.forEach((r, j) => {
        logp[r] = Math.log(all.resp[r * this.classes + k]!);
        for (let c = 0; c < d; c++) grad[r * d + c] = part.score[j * d + c]! - all.score[r * d + c]!;
      });
    }
    return { logp, grad };
  }

  async gradVjp(
    x: Float64Array,
    t: Float64Array,
    n: number,
    y: Int32Array,
    v: Float64Array,
  ): Promise<{ grad: Float64Array; vjp: Float64Array }> {
    const d = this.dim,
      all = this.mixture.evaluate(x, n, this.coef(t), v);
    const grad = new Float64Array(n * d),
      vjp = new Float64Array(n * d);
    for (const [k, rows] of this.byLabel(y)) {
      const part = this.partAt(k, rows, x, t, v);
      rows.forEach((r, j) => {
        for (let c = 0; c < d; c++) {
          grad[r * d + c] = part.score[j * d + c]! - all.score[r * d + c]!;
          vjp[r * d + c] = part.vjp![j * d + c]! - all.vjp![r * d + c]!;
        }
      });
    }
    return { grad, vjp };
  }
}
