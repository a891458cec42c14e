/**
 * The "host" optimizer-state layout: the program computes the loss, the gradients and their global
 * norm only; the update (clipping, weight decay, Adam/AdamW/SGD, EMA) then runs in one JavaScript
 * pass per step over flat host buffers, in place. Same mathematics as the in-graph layouts
 * (optim.ts; Kingma & Ba's Alg. 1 in its "efficient" form, bias corrections on scalars):
 *   g ← clip·g (+ λθ for adam/sgd);  m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;
 *   θ ← θ·(1 − lr·λ [adamw]) − (lr·√bc₂/bc₁)·m/(√v + ε·√bc₂);  θ̄ ← d_t·θ̄ + (1 − d_t)·θ,
 * ORT runs each of the ~13 elementwise nodes per parameter tensor as its own kernel; here it is one
 * pass over memory. The global gradient
 * norm ‖g‖₂ (reported each step, and needed first when clipping) is summed here too, in float64: in
 * the program it took three small nodes per parameter tensor.
 *
 * float32 trained parameters live in one arena (host-kernels.ts) with their moments, EMA and
 * gradients, each a region in the same flat order, so one WebAssembly SIMD call per pass updates them
 * all (ScoreNet's 1.1 M: 1.6–2.3 ms in the train step, 6.6–7.0 ms for the float64 JavaScript pass);
 * the arithmetic there is float32, as in the in-graph layouts and PyTorch, with Σ g² in float64.
 * float64 parameters take the float64 JavaScript passes below.
 */
import { grad } from "./autodiff.ts";
import { type HostArena, hostArena } from "./host-kernels.ts";
import type { OptimizerConfig } from "./optim.ts";
import { type ParamSpec, paramFeed } from "./params.ts";
import type { RunResult } from "./runtime.ts";
import type { HostArray, Tensor } from "./tensor.ts";

/** Where a logical state entry lives: a slice of a host buffer. */
export interface HostSlot {
  buf: string;
  offset: number;
  length: number;
}

const slot = (kind: string, name: string) => `${kind}:${name}`;
/** Program output carrying the gradient of trained parameter `name`. */
const gradOut = (name: string) => `grad:${name}`;
export const HOST_P = "host:p",
  HOST_M = "host:m",
  HOST_V = "host:v",
  HOST_EMA = "host:ema";

export interface HostBuilt {
  outputs: Record<string, Tensor>;
  /** The gradient outputs: read only by `update`, so one set of arrays can receive them every step. */
  gradOutputs: string[];
  slots: Map<string, HostSlot>;
  buffers: Map<string, number>;
  /**
   * Zeroed state buffers (by `buffers` name) and gradient arrays (by `gradOutputs` name), float32
   * trained state and gradients as regions of one arena; `zeros(n)` makes the others.
   */
  allocate(zeros: (n: number) => HostArray): { bufs: Record<string, HostArray>; grads: Record<string, HostArray> };
  /** Applies the update for one step's program outputs to the buffers, in place; returns ‖g‖₂ (before clipping). */
  update(out: RunResult, bufs: Record<string, HostArray>): number;
}

/** Region names of the float32 arena, in order (the gradients last). */
const REGIONS = [HOST_P, HOST_M, HOST_V, HOST_EMA, "grads"] as const;

interface Arena {
  arena: HostArena;
  /** Values per region (the trained count rounded up to a multiple of 4). */
  stride: number;
  /** Byte offset of each region present. */
  at: Map<string, number>;
}

type Buf = Float32Array | Float64Array;

/** Σ g² of a gradient, in float64. */
function sumSquares(g: Buf): number {
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i]! * g[i]!;
  return s;
}

/** Adam moments and parameters for one gradient g (n values) at offset `at` of P, M, V; returns Σ g² (raw g). */
function adamPass(g: Buf, P: Buf, M: Buf, V: Buf, at: number, k: AdamScalars): number {
  const { clip, l2, keep, b1, b2, stepSize, epsHat } = k;
  const c1 = 1 - b1,
    c2 = 1 - b2;
  let ss = 0;
  for (let i = 0; i < g.length; i++) {
    const j = at + i,
      p = P[j]!,
      raw = g[i]!;
    ss += raw * raw;
    const gi = raw * clip + l2 * p;
    const m = b1 * M[j]! + c1 * gi,
      v = b2 * V[j]! + c2 * gi * gi;
    M[j] = m;
    V[j] = v;
    P[j] = p * keep - (stepSize * m) / (Math.sqrt(v) + epsHat);
  }
  return ss;
}

/** Plain SGD for one gradient at offset `at` of P; returns Σ g² (raw g). */
function sgdPass(g: Buf, P: Buf, at: number, clip: number, l2: number, lr: number): number {
  let ss = 0;
  for (let i = 0; i < g.length; i++) {
    const j = at + i,
      p = P[j]!,
      raw = g[i]!;
    ss += raw * raw;
    P[j] = p - lr * (raw * clip + l2 * p);
  }
  return ss;
}

/** θ̄ ← d·θ̄ + (1 − d)·θ over n values from offset `at`. */
function emaPass(E: Buf, P: Buf, at: number, n: number, d: number): void {
  for (let j = at; j < at + n; j++) E[j] = d * E[j]! + (1 - d) * P[j]!;
}

interface AdamScalars {
  clip: number;
  l2: number;
  keep: number;
  b1: number;
  b2: number;
  stepSize: number;
  epsHat: number;
}

/** Copies into the arena's gradient region the gradients a backend returned in fresh arrays (not written in place). */
function intoArena(a: Arena, layout: readonly { offset: number; n: number }[], grads: readonly Buf[]): void {
  const base = a.at.get("grads")! >> 2;
  layout.forEach(({ offset, n }, i) => {
    const g = grads[i]!;
    if (g.buffer !== a.arena.values.buffer || g.byteOffset !== (base + offset) * 4)
      a.arena.values.set(g.subarray(0, n), base + offset);
  });
}

/** The float32 passes over every trained value at once (Adam when `k` is given, else SGD; then the EMA); returns Σ g². */
function arenaPasses(
  a: Arena,
  k: AdamScalars | undefined,
  sgd: { clip: number; l2: number; lr: number },
  emaDecay: number | undefined,
): number {
  const K = a.arena.kernels,
    n = a.stride,
    at = (r: string) => a.at.get(r)!;
  const g = at("grads"),
    p = at(HOST_P);
  const ss = k
    ? K.adam(
        g,
        p,
        at(HOST_M),
        at(HOST_V),
        n,
        k.clip,
        k.l2,
        k.keep,
        k.b1,
        1 - k.b1,
        k.b2,
        1 - k.b2,
        k.stepSize,
        k.epsHat,
      )
    : K.sgd(g, p, n, sgd.clip, sgd.l2, sgd.lr);
  if (emaDecay !== undefined) K.ema(at(HOST_EMA), p, n, emaDecay, 1 - emaDecay);
  return ss;
}

/** The program (loss, grad:<name>) and the host update for the trained parameters of `specs`. */
export function buildHost(specs: ParamSpec[], loss: Tensor, o: OptimizerConfig): HostBuilt {
  const trained = specs.filter((s) => s.trainable),
    fixed = specs.filter((s) => !s.trainable);
  const gs = grad(
    loss,
    trained.map((s) => s.node),
  );
  const outputs: Record<string, Tensor> = { loss };
  trained.forEach((s, k) => {
    outputs[gradOut(s.name)] = gs[k]!;
  });
  const slots = new Map<string, HostSlot>(),
    total = trained.reduce((a, s) => a + s.node.size, 0);
  const buffers = new Map<string, number>([
    [HOST_P, total],
    ["step", 1],
  ]);
  const adam = o.kind !== "sgd",
    ema = o.emaDecay !== undefined;
  if (adam) buffers.set(HOST_M, total).set(HOST_V, total);
  if (ema) buffers.set(HOST_EMA, total);
  let offset = 0;
  const layout = trained.map((s) => {
    const n = s.node.size;
    slots.set(paramFeed(s.name), { buf: HOST_P, offset, length: n });
    if (adam) {
      slots.set(slot("m", s.name), { buf: HOST_M, offset, length: n });
      slots.set(slot("v", s.name), { buf: HOST_V, offset, length: n });
    }
    if (ema) slots.set(slot("ema", s.name), { buf: HOST_EMA, offset, length: n });
    const at = { name: s.name, offset, n };
    offset += n;
    return at;
  });
  for (const s of fixed) {
    slots.set(paramFeed(s.name), { buf: paramFeed(s.name), offset: 0, length: s.node.size });
    buffers.set(paramFeed(s.name), s.node.size);
    if (ema) {
      slots.set(slot("ema", s.name), { buf: slot("ema", s.name), offset: 0, length: s.node.size });
      buffers.set(slot("ema", s.name), s.node.size);
    }
  }
  slots.set("step", { buf: "step", offset: 0, length: 1 });
  const b1 = o.beta1 ?? 0.9,
    b2 = o.beta2 ?? 0.999,
    eps = o.eps ?? 1e-8,
    wd = o.weightDecay ?? 0;
  const f32 = trained.every((s) => s.node.dtype === "float32");
  let arena: Arena | undefined;
  return {
    outputs,
    gradOutputs: trained.map((s) => gradOut(s.name)),
    slots,
    buffers,
    allocate(zeros) {
      const bufs: Record<string, HostArray> = {};
      const grads: Record<string, HostArray> = {};
      if (f32) {
        const stride = Math.ceil(total / 4) * 4;
        const present = REGIONS.filter((r) => r === "grads" || buffers.has(r));
        const a = hostArena(present.length * stride * 4);
        arena = { arena: a, stride, at: new Map(present.map((r, k) => [r, k * stride * 4])) };
        const region = (r: string) => a.values.subarray(arena!.at.get(r)! >> 2, (arena!.at.get(r)! >> 2) + total);
        for (const r of present) if (r !== "grads") bufs[r] = region(r);
        const g = region("grads");
        for (const { name, offset, n } of layout) grads[gradOut(name)] = g.subarray(offset, offset + n);
      } else for (const { name, n } of layout) grads[gradOut(name)] = zeros(n);
      for (const [name, n] of buffers) bufs[name] ??= zeros(n);
      return { bufs, grads };
    },
    update(out, bufs) {
      const stepBuf = bufs.step as Buf;
      const t = stepBuf[0]! + 1;
      const lr = o.warmup ? Math.min(t / o.warmup, 1) * o.lr : o.lr;
      const grads = layout.map(({ name }) => out[gradOut(name)] as Buf);
      if (arena) intoArena(arena, layout, grads);
      // Clipping needs the norm before the update; otherwise the update's own pass sums it.
      const preNorm =
        o.clipNorm === undefined
          ? undefined
          : Math.sqrt(
              arena
                ? arena.arena.kernels.sumSquares(arena.at.get("grads")!, arena.stride)
                : grads.reduce((a, g) => a + sumSquares(g), 0),
            );
      const clip = preNorm !== undefined ? Math.min(o.clipNorm! / (preNorm + 1e-6), 1) : 1;
      const l2 = o.kind === "adamw" ? 0 : wd,
        keep = o.kind === "adamw" ? 1 - lr * wd : 1;
      const bc1 = 1 - b1 ** t,
        rootBc2 = Math.sqrt(1 - b2 ** t);
      const k: AdamScalars = { clip, l2, keep, b1, b2, stepSize: (lr * rootBc2) / bc1, epsHat: eps * rootBc2 };
      const d = ema ? Math.min((1 + t) / (10 + t), o.emaDecay!) : 0;
      let ss = 0;
      if (arena) ss = arenaPasses(arena, adam ? k : undefined, { clip, l2, lr }, ema ? d : undefined);
      else {
        const P = bufs[HOST_P] as Buf,
          M = bufs[HOST_M] as Buf,
          V = bufs[HOST_V] as Buf,
          E = bufs[HOST_EMA] as Buf;
        layout.forEach(({ offset: at, n }, i) => {
          const g = grads[i]!;
          ss += adam ? adamPass(g, P, M, V, at, k) : sgdPass(g, P, at, clip, l2, lr);
          if (ema) emaPass(E, P, at, n, d);
        });
      }
      if (ema)
        for (const s of fixed)
          emaPass(bufs[slot("ema", s.name)] as Buf, bufs[paramFeed(s.name)] as Buf, 0, s.node.size, d);
      stepBuf[0] = t;
      return preNorm ?? Math.sqrt(ss);
    },
  };
}
