/**
 * Parameters while tracing: a ParamScope hands out named `input` nodes ("p:<dotted.name>") and
 * records each parameter's shape, initializer and whether it is trained, so one model function
 * both defines the program and yields an initialized, seeded parameter tree.
 */
import type { Param, ParamDtype, ParamTree } from "./init.ts";
import type { Rng } from "../rng.ts";
import { type Tensor, TraceError, fmtShape, input } from "./tensor.ts";

/** Makes the initial value of one parameter. */
export type Init = (shape: number[], rng: Rng, dtype: ParamDtype) => Param;

export interface ParamSpec {
  readonly name: string;
  readonly shape: number[];
  readonly init: Init;
  readonly trainable: boolean;
  readonly node: Tensor;
}

/** Feed name of a parameter. */
export const paramFeed = (name: string) => `p:${name}`;

class Registry {
  readonly specs = new Map<string, ParamSpec>();
  constructor(readonly dtype: ParamDtype) {}
}

export class ParamScope {
  private constructor(
    private readonly reg: Registry,
    private readonly prefix: string,
  ) {}
  static create(dtype: ParamDtype = "float32"): ParamScope {
    return new ParamScope(new Registry(dtype), "");
  }

  get dtype(): ParamDtype {
    return this.reg.dtype;
  }

  /** A child scope whose parameters are named "<prefix>.<name>". */
  scope(name: string): ParamScope {
    return new ParamScope(this.reg, this.full(name));
  }

  private full(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }

  /** The parameter `name` (created on first use; later uses must agree on the shape). */
  param(name: string, shape: readonly number[], init: Init, opts: { trainable?: boolean } = {}): Tensor {
    const full = this.full(name);
    const old = this.reg.specs.get(full);
    if (old) {
      if (old.shape.length !== shape.length || old.shape.some((d, i) => d !== shape[i]))
        throw new TraceError(
          "param",
          `'${full}' reused with shape ${fmtShape(shape)}, first made with ${fmtShape(old.shape)}`,
        );
      return old.node;
    }
    const node = input(paramFeed(full), shape, this.reg.dtype);
    this.reg.specs.set(full, { name: full, shape: [...shape], init, trainable: opts.trainable ?? true, node });
    return node;
  }

  /** Every parameter made so far, in creation order. */
  specs(): ParamSpec[] {
    return [...this.reg.specs.values()];
  }

  /** Seeded initial values: parameter k draws from rng.fork(k), so values do not depend on later additions. */
  init(rng: Rng): ParamTree {
    const tree: ParamTree = new Map();
    this.specs().forEach((s, k) => tree.set(s.name, s.init(s.shape, rng.fork(k), this.reg.dtype)));
    return tree;
  }
}
