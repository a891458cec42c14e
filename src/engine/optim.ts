/**
 * A whole training step as one compiled program: loss, gradients (reverse-mode), gradient
 * clipping by global norm, learning-rate warmup, Adam / AdamW / SGD update and an EMA of the
 * parameters. The Trainer feeds the updated state back each step; one runtime call per step.
 *
 * Adam (Kingma & Ba 2015, Alg. 1) with bias correction; AdamW decouples weight decay
 * (Loshchilov & Hutter 2019): θ ← θ − lr·(m̂/(√v̂ + ε) + λθ). Warmup: lr_t = lr·min(1, t/warmup),
 * t = step + 1, as in score_sde's optimization_manager. EMA: θ̄ ← d_t·θ̄ + (1 − d_t)·θ with the
 * usual warm-up d_t = min(d, (1 + t)/(10 + t)), so early averages do not cling to the initialization.
 */
import type { ParamTree } from "./init.ts";
import { grad } from "./autodiff.ts";
import { add, div, minimum, mul, pow, sqrt, sub, sum } from "./ops.ts";
import { type ParamScope, type ParamSpec, paramFeed } from "./params.ts";
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

interface Built {
  outputs: Record<string, Tensor>;
  stateInputs: Tensor[];
  step: Tensor;
}

function buildUpdate(specs: ParamSpec[], loss: Tensor, o: OptimizerConfig): Built {
  const dt = loss.dtype;
  const trained = specs.filter((s) => s.trainable);
  if (trained.length === 0) throw new TraceError("train step", "the loss has no trainable parameters");
  const step = input("step", [], dt);
  const t = add(step, 1);
  const outputs: Record<string, Tensor> = { loss, [next("step")]: t };
  const stateInputs: Tensor[] = [step];
  let gs = grad(
    loss,
    trained.map((s) => s.node),
  );
  const gnorm = sqrt(gs.reduce<Tensor>((acc, g) => add(acc, sum(mul(g, g))), scalar(0, dt)));
  outputs.gradNorm = gnorm;
  if (o.clipNorm !== undefined) {
    const scale = minimum(div(o.clipNorm, add(gnorm, 1e-6)), 1);
    gs = gs.map((g) => mul(g, scale));
  }
  const lr = o.warmup ? mul(minimum(div(t, o.warmup), 1), o.lr) : scalar(o.lr, dt);
  const b1 = o.beta1 ?? 0.9,
    b2 = o.beta2 ?? 0.999,
    eps = o.eps ?? 1e-8,
    wd = o.weightDecay ?? 0;
  const bc1 = sub(1, pow(scalar(b1, dt), t)),
    bc2 = sub(1, pow(scalar(b2, dt), t));
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
    const d = minimum(div(add(t, 1), add(t, 10)), o.emaDecay);
    const oneMinusD = sub(1, d);
    for (const s of specs) {
      const e = input(slot("ema", s.name), s.shape, dt);
      stateInputs.push(e);
      const cur = outputs[next(paramFeed(s.name))] ?? s.node;
      outputs[next(slot("ema", s.name))] = add(mul(e, d), mul(cur, oneMinusD));
    }
  }
  return { outputs, stateInputs, step };
}

/**
 * Trains the parameters of `scope` on `loss` (a scalar traced over `scope`'s parameters and the
 * `batch` inputs). State lives on the host as typed arrays keyed by feed name.
 */
export class Trainer {
  private constructor(
    private readonly program: Program,
    private readonly specs: ParamSpec[],
    private state: Record<string, HostArray>,
    readonly config: OptimizerConfig,
  ) {}

  static async create(
    scope: ParamScope,
    loss: Tensor,
    batch: readonly Tensor[],
    params: ParamTree,
    config: OptimizerConfig,
  ): Promise<Trainer> {
    if (loss.size !== 1) throw new TraceError("train step", `the loss must be a scalar, got ${loss}`);
    const specs = scope.specs();
    const built = buildUpdate(specs, loss, config);
    const program = await compile({
      inputs: [...specs.map((s) => s.node), ...built.stateInputs, ...batch],
      outputs: built.outputs,
    });
    const state: Record<string, HostArray> = {};
    const zeros = (n: number) => (scope.dtype === "float64" ? new Float64Array(n) : new Float32Array(n));
    for (const s of specs) {
      const p = params.get(s.name);
      if (!p) throw new Error(`Trainer: no initial value for parameter '${s.name}'`);
      state[paramFeed(s.name)] = p.data.slice();
    }
    // Optimizer state, as the graph declares it: moments and the step start at zero, the EMA at the parameters.
    for (const t of built.stateInputs) {
      const name = t.attrs.name as string;
      state[name] = name.startsWith("ema:") ? state[paramFeed(name.slice("ema:".length))]!.slice() : zeros(t.size);
    }
    return new Trainer(program, specs, state, config);
  }

  /** Steps taken so far. */
  get step(): number {
    return Number(this.state.step![0]);
  }

  /** One optimization step on a batch (one array per batch input name); returns loss and gradient norm. */
  async trainStep(batch: Record<string, HostArray | ArrayLike<number>>): Promise<{ loss: number; gradNorm: number }> {
    const out = await this.program.run({ ...this.state, ...batch });
    for (const k of Object.keys(this.state)) {
      const v = out[next(k)];
      if (v) this.state[k] = v;
    }
    return { loss: Number(out.loss![0]), gradNorm: Number(out.gradNorm![0]) };
  }

  /** Current parameters (or their EMA when `ema` is true and kept). Arrays are copies. */
  params(ema = false): ParamTree {
    const tree: ParamTree = new Map();
    for (const s of this.specs) {
      const src = this.state[
        ema && this.config.emaDecay !== undefined ? slot("ema", s.name) : paramFeed(s.name)
      ] as Float32Array;
      tree.set(s.name, { shape: [...s.shape], data: src.slice() });
    }
    return tree;
  }

  /** Full optimizer state (parameters, moments, EMA, step) for checkpoints, keyed by feed name. */
  stateTensors(): Record<string, HostArray> {
    return Object.fromEntries(Object.entries(this.state).map(([k, v]) => [k, v.slice()]));
  }

  /** Restore state saved by stateTensors (resume); every key must be present with the right length. */
  loadState(saved: Record<string, HostArray>): void {
    for (const [k, v] of Object.entries(this.state)) {
      const s = saved[k];
      if (!s || s.length !== v.length)
        throw new Error(
          `Trainer.loadState: '${k}' is ${s ? `of length ${s.length}, expected ${v.length}` : "missing"}; the checkpoint does not match this model and optimizer`,
        );
      this.state[k] = s.slice();
    }
  }
}
