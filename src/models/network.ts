/**
 * A trained network run by the engine as a RawNetwork (forward, and forward with the per-row
 * VJP vᵀ∂out/∂x for divergences). Programs are compiled per batch size (static shapes) and
 * cached. The parameters are frozen into each program (ONNX initializers), so ORT folds and
 * re-lays them out once (its blocked NCHWc convolutions need constant filters) instead of on
 * every evaluation: `npm run bench:ab -- freeze` compares the two forms.
 */
import * as E from "../engine/index.ts";
import type { ParamTree } from "../engine/init.ts";
import type { RawNetwork, Sde } from "../sde/index.ts";
import { conditionFor, dataDim, type ModelSpec, traceNetwork } from "./registry.ts";

type Float = Float32Array | Float64Array;

export class EngineNetwork implements RawNetwork {
  readonly dim: number;
  private readonly progs = new Map<string, Promise<E.Program>>();
  private readonly feeds: Record<string, Float>;
  private readonly cond: (t: number) => number;
  /** The bound class labels as the int64 feed, converted once. */
  private readonly labelFeed?: BigInt64Array;

  /** `labels` [n] bind a class-conditional model to one class per row of every batch it evaluates. */
  constructor(
    readonly spec: ModelSpec,
    params: ParamTree,
    sde: Sde,
    private readonly labels?: Int32Array,
  ) {
    if ((spec.classes ?? 0) > 0 !== (labels !== undefined))
      throw new Error(
        spec.classes
          ? `the model is class-conditional (${spec.classes} classes): give a class label per sample`
          : "class labels were given but the model is unconditional",
      );
    if (labels) this.labelFeed = BigInt64Array.from(labels, (v) => BigInt(v));
    this.dim = dataDim(spec);
    this.cond = conditionFor(spec, sde);
    this.feeds = {};
    for (const [name, p] of params)
      this.feeds[E.paramFeed(name)] = spec.dtype === "float64" ? Float64Array.from(p.data) : Float32Array.from(p.data);
  }

  private program(n: number, withVjp: boolean): Promise<E.Program> {
    const key = `${n}:${withVjp}`;
    let p = this.progs.get(key);
    if (!p) {
      p = this.build(n, withVjp);
      this.progs.set(key, p);
    }
    return p;
  }

  private async build(n: number, withVjp: boolean): Promise<E.Program> {
    const dt = this.spec.dtype;
    const ps = E.ParamScope.create(dt);
    const x = E.input("x", [n, ...this.spec.dataShape], dt),
      c = E.input("c", [n], dt);
    const y = this.labels ? E.input("y", [n], "int64") : undefined;
    const out = traceNetwork(this.spec, ps, x, c, y);
    const inputs = [...ps.specs().map((s) => s.node), x, c, ...(y ? [y] : [])];
    const missing = ps
      .specs()
      .filter((s) => !this.feeds[E.paramFeed(s.name)])
      .map((s) => s.name);
    if (missing.length) throw new Error(`model parameters missing: ${missing.join(", ")}`);
    const constants = Object.fromEntries(
      ps.specs().map((s) => [E.paramFeed(s.name), this.feeds[E.paramFeed(s.name)]!]),
    );
    if (!withVjp) return E.compile({ inputs, outputs: { out }, constants });
    const v = E.input("v", out.shape, dt);
    const [jv] = E.vjp([out], [v], [x]);
    return E.compile({ inputs: [...inputs, v], outputs: { out, vjp: jv! }, constants });
  }

  /** Conditioning feeds: c (from t) and, for conditional models, the bound labels. */
  private condFeeds(t: Float64Array, n: number): Record<string, Float | BigInt64Array> {
    const feeds: Record<string, Float | BigInt64Array> = { c: this.conditions(t) };
    if (this.labelFeed) {
      if (this.labelFeed.length !== n)
        throw new Error(`the model was given ${this.labelFeed.length} class labels but evaluates batches of ${n}`);
      feeds.y = this.labelFeed;
    }
    return feeds;
  }

  private conditions(t: Float64Array): Float {
    const c = this.spec.dtype === "float64" ? new Float64Array(t.length) : new Float32Array(t.length);
    for (let i = 0; i < t.length; i++) c[i] = this.cond(t[i]!);
    return c;
  }

  async forward(x: Float64Array, t: Float64Array, n: number): Promise<Float64Array> {
    const r = await (await this.program(n, false)).run({ x, ...this.condFeeds(t, n) });
    return Float64Array.from(r.out as Float);
  }

  async forwardVjp(
    x: Float64Array,
    t: Float64Array,
    n: number,
    v: Float64Array,
  ): Promise<{ out: Float64Array; vjp: Float64Array }> {
    const r = await (await this.program(n, true)).run({ x, ...this.condFeeds(t, n), v });
    return { out: Float64Array.from(r.out as Float), vjp: Float64Array.from(r.vjp as Float) };
  }
}
