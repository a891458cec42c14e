/**
 * The float32 host optimizer's memory and kernels: one arena of equal float32 regions (parameters,
 * moments, EMA, gradients) and the Adam / SGD / EMA / Σg² passes over them, in WebAssembly SIMD
 * (host-kernels.wat, four lanes per instruction; ~4× the scalar JavaScript loop on 1.1 M parameters)
 * or, where WebAssembly SIMD is missing, a scalar twin that rounds every operation to float32 in
 * the same order and so gives the same bits. Platform-neutral: WebAssembly is a JavaScript global.
 *
 * Addresses are byte offsets into the arena; counts are values, multiples of 4 (regions are padded
 * with zeros, which every kernel leaves at zero).
 */
import { compileEmbeddedWasm } from "../wasm-module.ts";
import { HOST_KERNELS_WASM } from "./host-kernels.wasm.ts";

export interface HostKernels {
  /** Σ g² over n values at byte offset g (float64 sums, see host-kernels.wat for the order). */
  sumSquares(g: number, n: number): number;
  /** Adam in place: γ = g·clip + l2·θ; m ← b1·m + c1·γ; v ← b2·v + (c2·γ)·γ; θ ← θ·keep − step·m/(√v + eps). Returns Σ g². */
  adam(
    g: number,
    p: number,
    m: number,
    v: number,
    n: number,
    clip: number,
    l2: number,
    keep: number,
    b1: number,
    c1: number,
    b2: number,
    c2: number,
    step: number,
    eps: number,
  ): number;
  /** SGD in place: θ ← θ − lr·(g·clip + l2·θ). Returns Σ g². */
  sgd(g: number, p: number, n: number, clip: number, l2: number, lr: number): number;
  /** EMA in place: θ̄ ← d·θ̄ + c·θ. */
  ema(e: number, p: number, n: number, d: number, c: number): void;
}

export interface HostArena {
  /** The whole arena as float32 values. */
  readonly values: Float32Array;
  readonly kernels: HostKernels;
  /** "wasm-simd" or "scalar" (the twin). */
  readonly engine: "wasm-simd" | "scalar";
}

const PAGE = 65536;
let compiled: WebAssembly.Module | null | undefined;
let preferred: "auto" | "scalar" = "auto";
/** Make new arenas use the scalar twin ("scalar") or WebAssembly where available ("auto", the default; tests compare them). */
export function setHostArenaEngine(engine: "auto" | "scalar" = "auto"): void {
  preferred = engine;
}

function wasmModule(): WebAssembly.Module | null {
  if (compiled === undefined) compiled = compileEmbeddedWasm(HOST_KERNELS_WASM);
  return compiled;
}

/**
 * An arena of `bytes` zeroed bytes with kernels over it: WebAssembly SIMD where available (and
 * `engine` is not "scalar"), else the scalar twin over a plain ArrayBuffer.
 */
export function hostArena(bytes: number, engine: "auto" | "scalar" = preferred): HostArena {
  const mod = engine === "auto" ? wasmModule() : null;
  if (mod) {
    try {
      const pages = Math.max(1, Math.ceil(bytes / PAGE));
      const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
      const instance = new WebAssembly.Instance(mod, { env: { memory } });
      return {
        values: new Float32Array(memory.buffer, 0, bytes >> 2),
        kernels: instance.exports as unknown as HostKernels,
        engine: "wasm-simd",
      };
    } catch {
      // no memory of that size for WebAssembly (wasm32 tops out at 4 GiB): the twin below
    }
  }
  const values = new Float32Array(bytes >> 2);
  return { values, kernels: scalarKernels(values), engine: "scalar" };
}

/** The kernels as scalar JavaScript over `a`, each operation rounded to float32 like the SIMD lanes. */
export function scalarKernels(a: Float32Array): HostKernels {
  const f = Math.fround;
  /** [lane 0, lane 1] float64 sums of squares, in the SIMD order (value i goes to lane i mod 2). */
  const squares = (s: [number, number], i: number, raw: number) => {
    s[(i & 1) as 0 | 1] += raw * raw;
  };
  return {
    sumSquares(g, n) {
      const s: [number, number] = [0, 0];
      for (let i = 0; i < n; i++) squares(s, i, a[(g >> 2) + i]!);
      return s[0] + s[1];
    },
    adam(g, p, m, v, n, clip, l2, keep, b1, c1, b2, c2, step, eps) {
      [clip, l2, keep, b1, c1, b2, c2, step, eps] = [clip, l2, keep, b1, c1, b2, c2, step, eps].map(f) as [
        number,
        number,
        number,
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      const s: [number, number] = [0, 0];
      const [G, P, M, V] = [g >> 2, p >> 2, m >> 2, v >> 2];
      for (let i = 0; i < n; i++) {
        const raw = a[G + i]!,
          th = a[P + i]!;
        squares(s, i, raw);
        const gam = f(f(raw * clip) + f(l2 * th));
        const mv = f(f(b1 * a[M + i]!) + f(c1 * gam)),
          vv = f(f(b2 * a[V + i]!) + f(f(c2 * gam) * gam));
        a[M + i] = mv;
        a[V + i] = vv;
        a[P + i] = f(th * keep) - f(f(step * mv) / f(f(Math.sqrt(vv)) + eps));
      }
      return s[0] + s[1];
    },
    sgd(g, p, n, clip, l2, lr) {
      [clip, l2, lr] = [f(clip), f(l2), f(lr)];
      const s: [number, number] = [0, 0];
      const [G, P] = [g >> 2, p >> 2];
      for (let i = 0; i < n; i++) {
        const raw = a[G + i]!,
          th = a[P + i]!;
        squares(s, i, raw);
        a[P + i] = th - f(lr * f(f(raw * clip) + f(l2 * th)));
      }
      return s[0] + s[1];
    },
    ema(e, p, n, d, c) {
      [d, c] = [f(d), f(c)];
      const [E, P] = [e >> 2, p >> 2];
      for (let i = 0; i < n; i++) a[E + i] = f(d * a[E + i]!) + f(c * a[P + i]!);
    },
  };
}
