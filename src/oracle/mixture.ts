import type { Rng } from "../rng.ts";
import { cholesky, choleskyInverse, choleskyLogDet } from "./linalg.ts";

const LOG_2PI = Math.log(2 * Math.PI);

/**
 * The K components of a Gaussian mixture after the affine perturbation x(t) = a·x(0) + s·z,
 * i.e. N(a·μ_k, a²Σ_k + s² I) (Song et al. 2021, eq. 29 applied per component).
 */
interface Components {
  /** log w_k − ½(d log 2π + log det C_k), [K]. */ logNorm: Float64Array;
  /** a·μ_k, [K·d]. */ means: Float64Array;
  /** C_k⁻¹: diagonal [K·d] or full [K·d·d]. */ prec: Float64Array;
}

/** Per-row results of `GaussianMixture.evaluate`. */
export interface MixtureEval {
  /** log p(x) in nats, [n]. */ logp: Float64Array;
  /** ∇ₓ log p(x), [n·d]. */ score: Float64Array;
  /** vᵀ ∇ₓ² log p(x) per row, [n·d] (only when v was given). */ vjp?: Float64Array;
  /** Responsibilities p(k | x), [n·K]. */ resp: Float64Array;
}

/**
 * A Gaussian mixture Σ_k w_k N(μ_k, Σ_k) in d dimensions with diagonal (`variances`) or full
 * (`covs`) covariances. All densities are evaluated through the perturbed marginal with coefficients
 * (a, s) — (1, 0) is the data itself — with log-sum-exp over components and Cholesky for full Σ_k.
 */
export class GaussianMixture {
  readonly K: number;
  private cache: { a: number; s: number; comps: Components } | null = null;
  private readonly sampleFactors: Float64Array; // per component: √variances [K·d] or Cholesky L [K·d·d]

  /**
   * @param dim d
   * @param weights [K], non-negative, summing to 1
   * @param means [K·d]
   * @param kind "diag": `cov` holds variances [K·d]; "full": `cov` holds covariances [K·d·d]
   */
  constructor(
    readonly dim: number,
    readonly weights: Float64Array,
    readonly means: Float64Array,
    readonly kind: "diag" | "full",
    readonly cov: Float64Array,
  ) {
    this.K = weights.length;
    this.sampleFactors = kind === "diag" ? cov.map(Math.sqrt) : this.fullFactors(cov, 1, 0).chol;
  }

  /** Cholesky factors, inverses and log-determinants of a²Σ_k + s²I for full covariances. */
  private fullFactors(cov: Float64Array, a: number, s: number) {
    const d = this.dim,
      dd = d * d;
    const chol = new Float64Array(this.K * dd),
      prec = new Float64Array(this.K * dd),
      logDet = new Float64Array(this.K);
    for (let k = 0; k < this.K; k++) {
      const C = new Float64Array(dd);
      for (let i = 0; i < dd; i++) C[i] = a * a * cov[k * dd + i]!;
      for (let i = 0; i < d; i++) C[i * d + i]! += s * s;
      const L = cholesky(C, d);
      if (!L)
        throw new Error(`Gaussian mixture: covariance of component ${k} is not positive definite at (a=${a}, s=${s})`);
      chol.set(L, k * dd);
      prec.set(choleskyInverse(L, d), k * dd);
      logDet[k] = choleskyLogDet(L, d);
    }
    return { chol, prec, logDet };
  }

  /** Marginal components for coefficients (a, s), memoized for the last (a, s). */
  private components(a: number, s: number): Components {
    if (this.cache && this.cache.a === a && this.cache.s === s) return this.cache.comps;
    const d = this.dim,
      K = this.K;
    const means = new Float64Array(K * d);
    for (let i = 0; i < K * d; i++) means[i] = a * this.means[i]!;
    let prec: Float64Array;
    const logDet = new Float64Array(K);
    if (this.kind === "diag") {
      prec = new Float64Array(K * d);
      for (let i = 0; i < K * d; i++) {
        const v = a * a * this.cov[i]! + s * s;
        prec[i] = 1 / v;
        logDet[Math.floor(i / d)]! += Math.log(v);
      }
    } else {
      const f = this.fullFactors(this.cov, a, s);
      prec = f.prec;
      logDet.set(f.logDet);
    }
    const logNorm = new Float64Array(K);
    for (let k = 0; k < K; k++) logNorm[k] = Math.log(this.weights[k]!) - 0.5 * (d * LOG_2PI + logDet[k]!);
    const comps = { logNorm, means, prec };
    this.cache = { a, s, comps };
    return comps;
  }

  /** out = C_k⁻¹ u for component k (u, out [d]). */
  private precMul(
    comps: Components,
    k: number,
    u: Float64Array,
    uOff: number,
    out: Float64Array,
    outOff: number,
  ): void {
    const d = this.dim;
    if (this.kind === "diag") {
      for (let j = 0; j < d; j++) out[outOff + j] = comps.prec[k * d + j]! * u[uOff + j]!;
      return;
    }
    const base = k * d * d;
    for (let i = 0; i < d; i++) {
      let sum = 0;
      for (let j = 0; j < d; j++) sum += comps.prec[base + i * d + j]! * u[uOff + j]!;
      out[outOff + i] = sum;
    }
  }

  /**
   * log p, score, responsibilities and (if v given) vᵀ∇²log p of the perturbed mixture, for rows
   * [start, end) of x [n·d] with coefficients (a, s). With g_k = −C_k⁻¹(x − aμ_k) and r_k = p(k|x):
   * score = Σ r_k g_k and ∇²log p = Σ r_k g_k g_kᵀ − score scoreᵀ − Σ r_k C_k⁻¹ (symmetric).
   */
  private evalRows(
    x: Float64Array,
    a: number,
    s: number,
    start: number,
    end: number,
    v: Float64Array | undefined,
    res: Required<MixtureEval>,
  ): void {
    const d = this.dim,
      K = this.K,
      comps = this.components(a, s);
    const diff = new Float64Array(d),
      g = new Float64Array(K * d),
      logits = new Float64Array(K),
      pv = new Float64Array(d);
    for (let i = start; i < end; i++) {
      const off = i * d;
      let maxLogit = -Infinity;
      for (let k = 0; k < K; k++) {
        for (let j = 0; j < d; j++) diff[j] = x[off + j]! - comps.means[k * d + j]!;
        this.precMul(comps, k, diff, 0, g, k * d);
        let quad = 0;
        for (let j = 0; j < d; j++) {
          quad += diff[j]! * g[k * d + j]!;
          g[k * d + j] = -g[k * d + j]!;
        }
        logits[k] = comps.logNorm[k]! - 0.5 * quad;
        if (logits[k]! > maxLogit) maxLogit = logits[k]!;
      }
      let sumExp = 0;
      for (let k = 0; k < K; k++) sumExp += Math.exp(logits[k]! - maxLogit);
      res.logp[i] = maxLogit + Math.log(sumExp);
      for (let k = 0; k < K; k++) {
        const r = Math.exp(logits[k]! - res.logp[i]!);
        res.resp[i * K + k] = r;
        for (let j = 0; j < d; j++) res.score[off + j]! += r * g[k * d + j]!;
      }
      if (v) this.vjpRow(comps, g, res.resp, i, v, pv, res);
    }
  }

  /** One row of vᵀ∇²log p = Σ r_k (g_k·v) g_k − (score·v) score − Σ r_k C_k⁻¹ v. */
  private vjpRow(
    comps: Components,
    g: Float64Array,
    resp: Float64Array,
    i: number,
    v: Float64Array,
    pv: Float64Array,
    res: Required<MixtureEval>,
  ): void {
    const d = this.dim,
      K = this.K,
      off = i * d;
    let sv = 0;
    for (let j = 0; j < d; j++) sv += res.score[off + j]! * v[off + j]!;
    for (let j = 0; j < d; j++) res.vjp[off + j] = -sv * res.score[off + j]!;
    for (let k = 0; k < K; k++) {
      const r = resp[i * K + k]!;
      let gv = 0;
      for (let j = 0; j < d; j++) gv += g[k * d + j]! * v[off + j]!;
      this.precMul(comps, k, v, off, pv, 0);
      for (let j = 0; j < d; j++) res.vjp[off + j]! += r * (gv * g[k * d + j]! - pv[j]!);
    }
  }

  /**
   * Evaluates the mixture perturbed by x = a·x₀ + s·z. `coef(i)` gives (a, s) for row i, so rows may
   * sit at different times. x [n·d], v [n·d] optional.
   */
  evaluate(x: Float64Array, n: number, coef: (i: number) => { a: number; s: number }, v?: Float64Array): MixtureEval {
    this.checkBatch(x, n, "x");
    if (v) this.checkBatch(v, n, "v");
    const d = this.dim;
    const res: Required<MixtureEval> = {
      logp: new Float64Array(n),
      score: new Float64Array(n * d),
      resp: new Float64Array(n * this.K),
      vjp: new Float64Array(v ? n * d : 0),
    };
    let start = 0;
    while (start < n) {
      // rows sharing (a, s) are evaluated together
      const { a, s } = coef(start);
      let end = start + 1;
      while (end < n) {
        const c = coef(end);
        if (c.a !== a || c.s !== s) break;
        end++;
      }
      this.evalRows(x, a, s, start, end, v, res);
      start = end;
    }
    return v ? res : { logp: res.logp, score: res.score, resp: res.resp };
  }

  /** log p_data(x) in nats: x [n·d] → [n]. */
  logProb(x: Float64Array, n: number): Float64Array {
    return this.evaluate(x, n, () => ({ a: 1, s: 0 })).logp;
  }

  /** Index of the most responsible component per row under the data mixture: x [n·d] → [n]. */
  assign(x: Float64Array, n: number): Int32Array {
    const { resp } = this.evaluate(x, n, () => ({ a: 1, s: 0 }));
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let k = 1; k < this.K; k++) if (resp[i * this.K + k]! > resp[i * this.K + best]!) best = k;
      labels[i] = best;
    }
    return labels;
  }

  /** n samples of the data mixture and their component labels: x [n·d], labels [n]. */
  sample(rng: Rng, n: number): { x: Float64Array; labels: Int32Array } {
    const d = this.dim,
      x = new Float64Array(n * d),
      labels = new Int32Array(n),
      z = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      const u = rng.uniform();
      let k = 0,
        acc = this.weights[0]!;
      while (u > acc && k < this.K - 1) acc += this.weights[++k]!;
      labels[i] = k;
      rng.normals(d, z);
      for (let r = 0; r < d; r++) {
        let e = 0;
        if (this.kind === "diag") e = this.sampleFactors[k * d + r]! * z[r]!;
        else for (let c = 0; c <= r; c++) e += this.sampleFactors[k * d * d + r * d + c]! * z[c]!;
        x[i * d + r] = this.means[k * d + r]! + e;
      }
    }
    return { x, labels };
  }

  private checkBatch(a: Float64Array, n: number, what: string): void {
    if (a.length !== n * this.dim) {
      throw new Error(
        `Gaussian mixture: ${what} has length ${a.length} but n·dim = ${n}·${this.dim} = ${n * this.dim}; pass a row-major [n·dim] array`,
      );
    }
  }
}
