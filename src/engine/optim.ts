/**
 * A whole training step: loss, gradients (reverse-mode), gradient clipping by global norm,
 * learning-rate warmup, Adam / AdamW / SGD update and an EMA of the parameters — the update either
 * in the compiled program or, by default, in one host pass after it (see StateLayout); one runtime
 * call per step.
 *
 * Adam (Kingma & Ba 2015, Alg. 1) with bias correction; AdamW decouples weight decay
 * (Loshchilov & Hutter 2019): θ ← θ − lr·(m̂/(√v̂ + ε) + λθ). Warmup: lr_t = lr·min(1, t/warmup),
 * t = step + 1, as in score_sde's optimization_manager. EMA: θ̄ ← d_t·θ̄ + (1 − d_t)·θ with the
 * usual warm-up d_t = min(d, (1 + t)/(10 + t)), so early averages do not cling to the initialization.
 */
import type { ParamTree } from "./init.ts";
import { grad } from "./autodiff.ts";
import { add, concat, div, minimum, mul, pow, reshape, sqrt, sub, sum } from "./ops.ts";
import { type ParamScope, type ParamSpec, paramFeed } from "./params.ts";
import { type HostBuilt, buildHost } from "./optim-host.ts";
import { type Program, compile } from "./runtime.ts";
import { type HostArray, type Tensor, TraceError, input, scalar } from "./tensor.ts";

export interface OptimizerConfig {
  kind: "adam" | "adamw" | "sgd";
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** L2 penalty added to the gradient (adam, sgd) or decoupled decay (adamw). */
  weightDecay?: number;
  /** Linear warmup of the learning rate over this many steps (0 = none). */
  warmup?: number;
  /** Clip gradients to this global L2 norm (undefined = no clipping). */
  clipNorm?: number;
  /** Keep an exponential moving average of the parameters with this decay (e.g. 0.999; warmed up, see above). */
  emaDecay?: number;
}

const slot = (kind: string, name: string) => `${kind}:${name}`;
/** Output name carrying the updated value of a state feed (ONNX values are single-assignment). */
const next = (feed: string) => `next:${feed}`;

/**
 * How a Trainer holds and updates the optimizer state.
 * "host" (the default): the program stops at the gradients and their global norm; the update
 * (clipping, weight decay, Adam moments, EMA) runs in one JavaScript pass over flat host buffers
 * (optim-host.ts) — ScoreNet train step 0.89× the per-parameter form's time (docs/engine-profile.md).
 * "per-parameter": the update written into the program once per parameter tensor, about 13
 * elementwise nodes each (ORT runs each as its own kernel).
 * "flat": in the program over concatenated gradients and flat buffers (1,236 → 572 ORT nodes for
 * the ScoreNet step, but no faster than per-parameter). All three agree to rounding and use the
 * same checkpoint names.
 */
export type StateLayout = "flat" | "per-parameter" | "host";

/** Where a logical state entry (p:name, m:name, v:name, ema:name, step) lives: a slice of a program buffer. */
interface Slot {
  buf: string;
  offset: number;
  length: number;
}

interface Built {
  outputs: Record<string, Tensor>;
  /** State inputs of the program (step, moments, EMA), in feed order. */
  stateInputs: Tensor[];
  /** Logical state name → its slice of a buffer (a program state input, or the flat parameters). */
  slots: Map<string, Slot>;
  /** Host buffer name → length. Buffers start at zero; then parameters are written into their p: and ema: slots. */
  buffers: Map<string, number>;
}

interface Schedule {
  t: Tensor;
  step: Tensor;
  gnorm: Tensor;
  clipScale?: Tensor;
  lr: Tensor;
  b1: number;
  b2: number;
  eps: number;
  wd: number;
  bc1: Tensor;
  bc2: Tensor;
}

/** The step counter, gradient norm, clipping factor, warmed-up learning rate and bias corrections. */
function schedule(gs: readonly Tensor[], o: OptimizerConfig, dt: Tensor["dtype"]): Schedule {
  const step = input("step", [], dt);
  const t = add(step, 1);
  const gnorm = sqrt(gs.reduce<Tensor>((acc, g) => add(acc, sum(mul(g, g))), scalar(0, dt)));
  const clipScale = o.clipNorm !== undefined ? minimum(div(o.clipNorm, add(gnorm, 1e-6)), 1) : undefined;
  const lr = o.warmup ? mul(minimum(div(t, o.warmup), 1), o.lr) : scalar(o.lr, dt);
  const b1 = o.beta1 ?? 0.9,
    b2 = o.beta2 ?? 0.999;
  return {
    t,
    step,
    gnorm,
    clipScale,
    lr,
    b1,
    b2,
    eps: o.eps ?? 1e-8,
    wd: o.weightDecay ?? 0,
    bc1: sub(1, pow(scalar(b1, dt), t)),
    bc2: sub(1, pow(scalar(b2, dt), t)),
  };
}

/** EMA warm-up decay d_t = min(d, (1 + t)/(10 + t)). */
const emaDecayAt = (t: Tensor, decay: number) => minimum(div(add(t, 1), add(t, 10)), decay);

/** The reference update: one chain of nodes per parameter tensor. */
function buildPerParameter(specs: ParamSpec[], loss: Tensor, o: OptimizerConfig): Built {
  const dt = loss.dtype;
  const trained = specs.filter((s) => s.trainable);
  let gs = grad(
    loss,
    trained.map((s) => s.node),
  );
  const sc = schedule(gs, o, dt);
  const outputs: Record<string, Tensor> = { loss, gradNorm: sc.gnorm, [next("step")]: sc.t };
  const stateInputs: Tensor[] = [sc.step];
  if (sc.clipScale) gs = gs.map((g) => mul(g, sc.clipScale!));
  const { b1, b2, eps, wd, bc1, bc2, lr } = sc;
  trained.forEach((s, k) => {
    const p = s.node;
    let g = gs[k]!;
    if (wd && o.kind !== "adamw") g = add(g, mul(p, wd));
    let updated: Tensor;
    if (o.kind === "sgd") updated = sub(p, mul(g, lr));
    else {
      const m = input(slot("m", s.name), s.shape, dt),
        v = input(slot("v", s.name), s.shape, dt);
      stateInputs.push(m, v);
      const m1 = add(mul(m, b1), mul(g, 1 - b1)),
        v1 = add(mul(v, b2), mul(mul(g, g), 1 - b2));
      outputs[next(slot("m", s.name))] = m1;
      outputs[next(slot("v", s.name))] = v1;
      let upd = div(div(m1, bc1), add(sqrt(div(v1, bc2)), eps));
      if (wd && o.kind === "adamw") upd = add(upd, mul(p, wd));
      updated = sub(p, mul(upd, lr));
    }
    outputs[next(paramFeed(s.name))] = updated;
  });
  if (o.emaDecay !== undefined) {
    const d = emaDecayAt(sc.t, o.emaDecay);
    const oneMinusD = sub(1, d);
    for (const s of specs) {
      const e = input(slot("ema", s.name), s.shape, dt);
      stateInputs.push(e);
      const cur = outputs[next(paramFeed(s.name))] ?? s.node;
      outputs[next(slot("ema", s.name))] = add(mul(e, d), mul(cur, oneMinusD));
    }
  }
  const slots = new Map<string, Slot>();
  const buffers = new Map<string, number>();
  for (const s of specs) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    slots.set(paramFeed(s.name), { buf: paramFeed(s.name), offset: 0, length: n });
    buffers.set(paramFeed(s.name), n);
  }
  for (const t of stateInputs) {
    const name = t.attrs.name as string;
    slots.set(name, { buf: name, offset: 0, length: t.size });
    buffers.set(name, t.size);
  }
  return { outputs, stateInputs, slots, buffers };
}

const FLAT_P = "flat:p",
  FLAT_M = "flat:m",
  FLAT_V = "flat:v",
  FLAT_EMA = "flat:ema";

/**
 * The fused update over flat buffers of all trained parameters, P values in all:
 *   g = concat(∂loss/∂θ_k) [P] (clipped, plus L2 decay for adam/sgd);
 *   m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;
 *   θ ← θ·(1 − lr·λ [adamw]) − (lr·√bc₂/bc₁)·m/(√v + ε·√bc₂),
 * which is Kingma & Ba's m̂/(√v̂ + ε) with the bias corrections bc_i = 1 − β_iᵗ moved onto scalars
 * (Alg. 1's "efficient version"). Non-trained parameters keep their own feeds (and EMA slots).
 */
function buildFlat(specs: ParamSpec[], loss: Tensor, o: OptimizerConfig): Built {
  const dt = loss.dtype;
  const trained = specs.filter((s) => s.trainable);
  const flatten = (ts: readonly Tensor[]) =>
    concat(
      ts.map((t) => reshape(t, [t.size])),
      0,
    );
  const total = trained.reduce((a, s) => a + s.node.size, 0);
  let g = flatten(
    grad(
      loss,
      trained.map((s) => s.node),
    ),
  );
  const sc = schedule([g], o, dt);
  const outputs: Record<string, Tensor> = { loss, gradNorm: sc.gnorm, [next("step")]: sc.t };
  const stateInputs: Tensor[] = [sc.step];
  const p = flatten(trained.map((s) => s.node));
  const { b1, b2, eps, wd, bc1, bc2, lr } = sc;
  if (sc.clipScale) g = mul(g, sc.clipScale);
  if (wd && o.kind !== "adamw") g = add(g, mul(p, wd));
  let updated: Tensor;
  if (o.kind === "sgd") updated = sub(p, mul(g, lr));
  else {
    const m = input(FLAT_M, [total], dt),
      v = input(FLAT_V, [total], dt);
    stateInputs.push(m, v);
    const m1 = add(mul(m, b1), mul(g, 1 - b1)),
      v1 = add(mul(v, b2), mul(mul(g, g), 1 - b2));
    outputs[next(FLAT_M)] = m1;
    outputs[next(FLAT_V)] = v1;
    const rootBc2 = sqrt(bc2);
    const stepSize = div(mul(lr, rootBc2), bc1);
    const upd = mul(div(m1, add(sqrt(v1), mul(rootBc2, eps))), stepSize);
    const kept = wd && o.kind === "adamw" ? mul(p, sub(1, mul(lr, wd))) : p;
    updated = sub(kept, upd);
  }
  outputs[next(FLAT_P)] = updated;
  const slots = new Map<string, Slot>();
  const buffers = new Map<string, number>([[FLAT_P, total]]);
  let offset = 0;
  for (const s of trained) {
    const n = s.node.size;
    slots.set(paramFeed(s.name), { buf: FLAT_P, offset, length: n });
    if (o.kind !== "sgd") {
      slots.set(slot("m", s.name), { buf: FLAT_M, offset, length: n });
      slots.set(slot("v", s.name), { buf: FLAT_V, offset, length: n });
    }
    if (o.emaDecay !== undefined) slots.set(slot("ema", s.name), { buf: FLAT_EMA, offset, length: n });
    offset += n;
  }
  if (o.kind !== "sgd") {
    buffers.set(FLAT_M, total);
    buffers.set(FLAT_V, total);
  }
  for (const s of specs.filter((q) => !q.trainable)) {
    slots.set(paramFeed(s.name), { buf: paramFeed(s.name), offset: 0, length: s.node.size });
    buffers.set(paramFeed(s.name), s.node.size);
  }
  if (o.emaDecay !== undefined) {
    const d = emaDecayAt(sc.t, o.emaDecay);
    const oneMinusD = sub(1, d);
    const e = input(FLAT_EMA, [total], dt);
    stateInputs.push(e);
    outputs[next(FLAT_EMA)] = add(mul(e, d), mul(updated, oneMinusD));
    buffers.set(FLAT_EMA, total);
    for (const s of specs.filter((q) => !q.trainable)) {
      const es = input(slot("ema", s.name), s.shape, dt);
      stateInputs.push(es);
      outputs[next(slot("ema", s.name))] = add(mul(es, d), mul(s.node, oneMinusD));
      slots.set(slot("ema", s.name), { buf: slot("ema", s.name), offset: 0, length: s.node.size });
      buffers.set(slot("ema", s.name), s.node.size);
    }
  }
  slots.set("step", { buf: "step", offset: 0, length: 1 });
  buffers.set("step", 1);
  return { outputs, stateInputs, slots, buffers };
}

/**
 * Trains the parameters of `scope` on `loss` (a scalar traced over `scope`'s parameters and the
 * `batch` inputs). State lives on the host as typed arrays: program buffers (flat or per parameter,
 * see StateLayout), read and written through named slots p:<name>, m:<name>, v:<name>,
 * ema:<name> and step, the names checkpoints use whatever the layout.
 */
export class Trainer {
  private constructor(
    private readonly program: Program,
    private readonly specs: ParamSpec[],
    /** Program state buffers by name (replaced by the program's next:<name> outputs each step). */
    private readonly bufs: Record<string, HostArray>,
    /** Logical state name → slice of a buffer, in checkpoint order. */
    private readonly slots: Map<string, Slot>,
    readonly config: OptimizerConfig,
    /** The "host" layout's update, applied to the buffers after each run. */
    private readonly hostUpdate?: HostBuilt["update"],
    /** Arrays the program's gradient outputs are written into each step (host layout). */
    private readonly gradBuffers?: Record<string, HostArray>,
  ) {}

  static async create(
    scope: ParamScope,
    loss: Tensor,
    batch: readonly Tensor[],
    params: ParamTree,
    config: OptimizerConfig,
    opts: { layout?: StateLayout } = {},
  ): Promise<Trainer> {
    if (loss.size !== 1) throw new TraceError("train step", `the loss must be a scalar, got ${loss}`);
    const specs = scope.specs();
    if (!specs.some((s) => s.trainable)) throw new TraceError("train step", "the loss has no trainable parameters");
    const layout = opts.layout ?? "host";
    const built: Built & Partial<Pick<HostBuilt, "update" | "allocate">> =
      layout === "host"
        ? { ...buildHost(specs, loss, config), stateInputs: [] }
        : (layout === "flat" ? buildFlat : buildPerParameter)(specs, loss, config);
    const program = await compile({
      inputs: [...specs.map((s) => s.node), ...built.stateInputs, ...batch],
      outputs: built.outputs,
    });
    const zeros = (n: number) => (scope.dtype === "float64" ? new Float64Array(n) : new Float32Array(n));
    let bufs: Record<string, HostArray> = {},
      gradBuffers: Record<string, HostArray> | undefined;
    if (built.allocate) ({ bufs, grads: gradBuffers } = built.allocate(zeros));
    else for (const [name, n] of built.buffers) bufs[name] = zeros(n);
    const trainer = new Trainer(
      program,
      specs,
      bufs,
      canonicalOrder(specs, built.slots),
      config,
      built.update,
      gradBuffers,
    );
    // Moments and the step start at zero, the EMA at the parameters.
    for (const s of specs) {
      const p = params.get(s.name);
      if (!p) throw new Error(`Trainer: no initial value for parameter '${s.name}'`);
      for (const key of [paramFeed(s.name), slot("ema", s.name)])
        if (built.slots.has(key)) trainer.view(key).set(p.data as ArrayLike<number> as never);
    }
    return trainer;
  }

  /** The live slice of state `name` (a view, not a copy). */
  private view(name: string): Float32Array | Float64Array {
    const s = this.slots.get(name)!;
    const buf = this.bufs[s.buf] as Float32Array | Float64Array;
    return s.offset === 0 && s.length === buf.length ? buf : buf.subarray(s.offset, s.offset + s.length);
  }

  /** Steps taken so far. */
  get step(): number {
    return Number(this.bufs.step![0]);
  }

  /** One optimization step on a batch (one array per batch input name); returns loss and gradient norm. */
  async trainStep(batch: Record<string, HostArray | ArrayLike<number>>): Promise<{ loss: number; gradNorm: number }> {
    const feeds: Record<string, HostArray | ArrayLike<number>> = { ...this.bufs, ...batch };
    for (const s of this.specs) feeds[paramFeed(s.name)] = this.view(paramFeed(s.name));
    const out = await this.program.run(feeds, this.gradBuffers);
    for (const k of Object.keys(this.bufs)) {
      const v = out[next(k)];
      if (v) this.bufs[k] = v;
    }
    const hostNorm = this.hostUpdate?.(out, this.bufs);
    return { loss: Number(out.loss![0]), gradNorm: hostNorm ?? Number(out.gradNorm![0]) };
  }

  /** Current parameters (or their EMA when `ema` is true and kept). Arrays are copies. */
  params(ema = false): ParamTree {
    const tree: ParamTree = new Map();
    for (const s of this.specs) {
      const src = this.view(ema && this.config.emaDecay !== undefined ? slot("ema", s.name) : paramFeed(s.name));
      tree.set(s.name, { shape: [...s.shape], data: src.slice() as Float32Array });
    }
    return tree;
  }

  /** Full optimizer state (parameters, moments, EMA, step) for checkpoints, keyed by slot name. Arrays are copies. */
  stateTensors(): Record<string, HostArray> {
    return Object.fromEntries([...this.slots.keys()].map((k) => [k, this.view(k).slice()]));
  }

  /** Restore state saved by stateTensors (resume); every key must be present with the right length. */
  loadState(saved: Record<string, HostArray>): void {
    for (const [k, slotOf] of this.slots) {
      const s = saved[k];
      if (!s || s.length !== slotOf.length)
        throw new Error(
          `Trainer.loadState: '${k}' is ${s ? `of length ${s.length}, expected ${slotOf.length}` : "missing"}; the checkpoint does not match this model and optimizer`,
        );
    }
    for (const k of this.slots.keys()) this.view(k).set(saved[k] as ArrayLike<number> as never);
  }
}

/** Slots in checkpoint order: parameters, step, then m and v per parameter, then the EMA per parameter. */
function canonicalOrder(specs: readonly ParamSpec[], slots: Map<string, Slot>): Map<string, Slot> {
  const names = [
    ...specs.map((s) => paramFeed(s.name)),
    "step",
    ...specs.flatMap((s) => [slot("m", s.name), slot("v", s.name)]),
    ...specs.map((s) => slot("ema", s.name)),
  ];
  const out = new Map<string, Slot>();
  for (const n of names) {
    const s = slots.get(n);
    if (s) out.set(n, s);
  }
  return out;
}
