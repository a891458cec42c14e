/**
 * A trained noise-conditional classifier run by the engine, as the NoisyClassifier that classifier
 * guidance uses: log p_t(y | x) and ∇ₓ log p_t(y | x) by the engine's VJP. Programs are compiled per
 * batch size and cached; parameters are fed as inputs.
 */
import * as E from "../engine/index.ts";
import type { ParamTree } from "../engine/init.ts";
import type { NoisyClassifier } from "../score.ts";
import type { Sde } from "../sde/types.ts";
import { type NoisyClassifierArch, logProbOfClass, traceNoisyClassifier } from "./classifier.ts";

type Float = Float32Array | Float64Array;

export class EngineNoisyClassifier implements NoisyClassifier {
  readonly dim: number;
  readonly classes: number;
  private readonly feeds: Record<string, Float> = {};
  private readonly progs = new Map<number, Promise<E.Program>>();

  constructor(
    readonly arch: NoisyClassifierArch,
    params: ParamTree,
    readonly sde: Sde,
    readonly dtype: "float32" | "float64" = "float32",
  ) {
    this.dim = arch.dataShape.reduce((a, b) => a * b, 1);
    this.classes = arch.classes;
    for (const [k, p] of params)
      this.feeds[E.paramFeed(k)] = dtype === "float64" ? Float64Array.from(p.data) : Float32Array.from(p.data);
  }

  private program(n: number): Promise<E.Program> {
    let p = this.progs.get(n);
    if (!p) {
      p = (async () => {
        const dt = this.dtype,
          ps = E.ParamScope.create(dt);
        const x = E.input("x", [n, ...this.arch.dataShape], dt),
          c = E.input("c", [n], dt),
          cin = E.input("cin", [n], dt),
          onehot = E.input("onehot", [n, this.classes], dt);
        const logits = traceNoisyClassifier(this.arch, ps, x, c, cin);
        const logp = logProbOfClass(logits, onehot);
        const [grad] = E.vjp([logp], [E.constant(new Float64Array(n).fill(1), [n], dt)], [x]);
        const missing = ps
          .specs()
          .filter((s) => !this.feeds[E.paramFeed(s.name)])
          .map((s) => s.name);
        if (missing.length) throw new Error(`classifier parameters missing: ${missing.join(", ")}`);
        return E.compile({
          inputs: [...ps.specs().map((s) => s.node), x, c, cin, onehot],
          outputs: { logp, grad: grad!, probs: E.softmax(logits, 1) },
        });
      })();
      this.progs.set(n, p);
    }
    return p;
  }

  private async run(x: Float64Array, t: Float64Array, n: number, y?: Int32Array) {
    if (x.length !== n * this.dim || t.length !== n)
      throw new Error(
        `noise-conditional classifier: x must be [${n}·${this.dim}] and t [${n}], got ${x.length} and ${t.length} entries`,
      );
    const f64 = this.dtype === "float64";
    const mk = (m: number) => (f64 ? new Float64Array(m) : new Float32Array(m));
    const c = mk(n),
      cin = mk(n),
      onehot = mk(n * this.classes),
      xs = mk(x.length);
    xs.set(x);
    for (let i = 0; i < n; i++) {
      const a = this.sde.meanCoef(t[i]!),
        s = this.sde.std(t[i]!);
      c[i] = t[i]!;
      cin[i] = 1 / Math.sqrt(a * a + s * s);
      if (y) {
        const k = y[i]!;
        if (!(k >= 0 && k < this.classes))
          throw new Error(`noise-conditional classifier: class ${k} is out of range 0 to ${this.classes - 1}`);
        onehot[i * this.classes + k] = 1;
      }
    }
    return (await this.program(n)).run({ ...this.feeds, x: xs, c, cin, onehot });
  }

  async logProbGrad(
    x: Float64Array,
    t: Float64Array,
    n: number,
    y: Int32Array,
  ): Promise<{ logp: Float64Array; grad: Float64Array }> {
    const r = await this.run(x, t, n, y);
    return { logp: Float64Array.from(r.logp as Float), grad: Float64Array.from(r.grad as Float) };
  }

  /** Class probabilities p_t(· | x) [n·classes]. */
  async probs(x: Float64Array, t: Float64Array, n: number): Promise<Float64Array> {
    return Float64Array.from((await this.run(x, t, n)).probs as Float);
  }
}
