/**
 * Primitive traced ops: elementwise math with numpy broadcasting, comparisons and where,
 * reductions, matmul, shape ops, gather/scatter and softmax. Each builder infers the output
 * shape (throwing a TraceError naming the op and shapes on a mismatch) and each differentiable
 * op registers its VJP rule beside it. Convolutions live in conv.ts, composites in functional.ts.
 */
import { defineVjp } from "./registry.ts";
import {
  type DType,
  type Shape,
  type TensorLike,
  Tensor,
  TraceError,
  broadcastShapes,
  constScalar,
  fmtShape,
  isFloat,
  lift,
  normAxis,
  scalar,
  sizeOf,
} from "./tensor.ts";

// ---------------------------------------------------------------- elementwise

const UNARY = [
  "neg",
  "exp",
  "log",
  "sqrt",
  "sin",
  "cos",
  "tanh",
  "sigmoid",
  "relu",
  "abs",
  "sign",
  "reciprocal",
] as const;
export type UnaryOp = (typeof UNARY)[number];

function unary(op: UnaryOp, x: Tensor): Tensor {
  if (!isFloat(x.dtype)) throw new TraceError(op, `needs a float tensor, got ${x.dtype}`);
  return new Tensor(op, [x], x.shape, x.dtype);
}

export const neg = (x: Tensor) => unary("neg", x);
export const exp = (x: Tensor) => unary("exp", x);
export const log = (x: Tensor) => unary("log", x);
export const sqrt = (x: Tensor) => unary("sqrt", x);
export const sin = (x: Tensor) => unary("sin", x);
export const cos = (x: Tensor) => unary("cos", x);
export const tanh = (x: Tensor) => unary("tanh", x);
export const sigmoid = (x: Tensor) => unary("sigmoid", x);
export const relu = (x: Tensor) => unary("relu", x);
export const abs = (x: Tensor) => unary("abs", x);
export const sign = (x: Tensor) => unary("sign", x);
export const reciprocal = (x: Tensor) => unary("reciprocal", x);

type BinaryOp = "add" | "sub" | "mul" | "div" | "pow" | "maximum" | "minimum";
type CompareOp = "less" | "greater" | "equal" | "lessEq" | "greaterEq";

function operands(op: string, a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  if (typeof a === "number" && typeof b === "number") throw new TraceError(op, "needs at least one tensor operand");
  const dt = typeof a === "number" ? (b as Tensor).dtype : a.dtype;
  const ta = lift(a, dt),
    tb = lift(b, dt);
  if (ta.dtype !== tb.dtype)
    throw new TraceError(op, `dtypes differ: ${ta.dtype} ${fmtShape(ta.shape)} vs ${tb.dtype} ${fmtShape(tb.shape)}`);
  return [ta, tb];
}

function binary(op: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = operands(op, a, b);
  return new Tensor(op, [ta, tb], broadcastShapes(op, ta.shape, tb.shape), ta.dtype);
}

export function add(a: TensorLike, b: TensorLike): Tensor {
  if (typeof b === "number" && b === 0 && typeof a !== "number") return a;
  return binary("add", a, b);
}
export const sub = (a: TensorLike, b: TensorLike) => binary("sub", a, b);
export function mul(a: TensorLike, b: TensorLike): Tensor {
  if (typeof b === "number" && b === 1 && typeof a !== "number") return a;
  return binary("mul", a, b);
}
export const div = (a: TensorLike, b: TensorLike) => binary("div", a, b);
export const pow = (a: TensorLike, b: TensorLike) => binary("pow", a, b);
export const maximum = (a: TensorLike, b: TensorLike) => binary("maximum", a, b);
export const minimum = (a: TensorLike, b: TensorLike) => binary("minimum", a, b);

function compare(op: CompareOp, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = operands(op, a, b);
  return new Tensor(op, [ta, tb], broadcastShapes(op, ta.shape, tb.shape), "bool");
}
export const less = (a: TensorLike, b: TensorLike) => compare("less", a, b);
export const greater = (a: TensorLike, b: TensorLike) => compare("greater", a, b);
export const equal = (a: TensorLike, b: TensorLike) => compare("equal", a, b);
export const lessEq = (a: TensorLike, b: TensorLike) => compare("lessEq", a, b);
export const greaterEq = (a: TensorLike, b: TensorLike) => compare("greaterEq", a, b);

/** cond ? a : b, broadcasting all three. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (cond.dtype !== "bool") throw new TraceError("where", `condition must be bool, got ${cond.dtype}`);
  const [ta, tb] = operands("where", a, b);
  const shape = broadcastShapes("where", cond.shape, broadcastShapes("where", ta.shape, tb.shape));
  return new Tensor("where", [cond, ta, tb], shape, ta.dtype);
}

export function cast(x: Tensor, to: DType): Tensor {
  if (x.dtype === to) return x;
  return new Tensor(isFloat(to) && isFloat(x.dtype) ? "cast" : "cast_int", [x], x.shape, to, { to });
}

/** Identity whose gradient is zero. */
export const stopGradient = (x: Tensor) => new Tensor("stopGradient", [x], x.shape, x.dtype);

// ---------------------------------------------------------------- shape ops

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const s = [...shape];
  const inferred = s.indexOf(-1);
  if (inferred >= 0) {
    const known = s.reduce((p, d, i) => (i === inferred ? p : p * d), 1);
    s[inferred] = known === 0 ? 0 : x.size / known;
  }
  if (sizeOf(s) !== x.size || s.some((d) => !Number.isInteger(d) || d < 0))
    throw new TraceError("reshape", `cannot reshape ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
  if (s.length === x.rank && s.every((d, i) => d === x.shape[i])) return x;
  return new Tensor("reshape", [x], s, x.dtype, { shape: s });
}

export function transpose(x: Tensor, perm: readonly number[]): Tensor {
  if (perm.length !== x.rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i))
    throw new TraceError("transpose", `perm [${perm}] is not a permutation for shape ${fmtShape(x.shape)}`);
  if (perm.every((p, i) => p === i)) return x;
  return new Tensor(
    "transpose",
    [x],
    perm.map((p) => x.shape[p]!),
    x.dtype,
    { perm: [...perm] },
  );
}

/** Swap the last two axes. */
export function mT(x: Tensor): Tensor {
  const p = x.shape.map((_, i) => i);
  const r = x.rank;
  [p[r - 2], p[r - 1]] = [p[r - 1]!, p[r - 2]!];
  return transpose(x, p);
}

export function expand(x: Tensor, shape: Shape): Tensor {
  const out = broadcastShapes("expand", x.shape, shape);
  if (out.length !== shape.length || out.some((d, i) => d !== shape[i]))
    throw new TraceError("expand", `cannot expand ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
  if (out.length === x.rank && out.every((d, i) => d === x.shape[i])) return x;
  return new Tensor("expand", [x], out, x.dtype, { shape: out });
}

export function concat(xs: readonly Tensor[], axis: number): Tensor {
  const first = xs[0];
  if (!first) throw new TraceError("concat", "needs at least one tensor");
  const ax = normAxis("concat", axis, first.rank);
  const shape = [...first.shape];
  shape[ax] = 0;
  for (const t of xs) {
    if (t.rank !== first.rank || t.dtype !== first.dtype || t.shape.some((d, i) => i !== ax && d !== first.shape[i]))
      throw new TraceError(
        "concat",
        `shapes ${xs.map((u) => fmtShape(u.shape)).join(" and ")} do not match off axis ${ax}`,
      );
    shape[ax]! += t.shape[ax]!;
  }
  if (xs.length === 1) return first;
  return new Tensor("concat", xs, shape, first.dtype, { axis: ax });
}

/** x[start:end] along each given axis (step 1; negative indices count from the end). */
export function slice(x: Tensor, starts: readonly number[], ends: readonly number[], axes?: readonly number[]): Tensor {
  const ax = (axes ?? starts.map((_, i) => i)).map((a) => normAxis("slice", a, x.rank));
  const shape = [...x.shape];
  const st: number[] = [],
    en: number[] = [];
  ax.forEach((a, i) => {
    const d = x.shape[a]!;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
    const s = clamp(starts[i]!),
      e = clamp(ends[i]!);
    if (e <= s)
      throw new TraceError("slice", `empty slice [${starts[i]}:${ends[i]}] on axis ${a} of ${fmtShape(x.shape)}`);
    st.push(s);
    en.push(e);
    shape[a] = e - s;
  });
  return new Tensor("slice", [x], shape, x.dtype, { starts: st, ends: en, axes: ax });
}

/** Zero padding: pads = [begin_0..begin_{r-1}, end_0..end_{r-1}] (ONNX order), all ≥ 0. */
export function pad(x: Tensor, pads: readonly number[]): Tensor {
  if (pads.length !== 2 * x.rank || pads.some((p) => p < 0 || !Number.isInteger(p)))
    throw new TraceError("pad", `pads [${pads}] do not fit rank ${x.rank} (need ${2 * x.rank} non-negative integers)`);
  if (pads.every((p) => p === 0)) return x;
  return new Tensor(
    "pad",
    [x],
    x.shape.map((d, i) => d + pads[i]! + pads[i + x.rank]!),
    x.dtype,
    { pads: [...pads] },
  );
}

/** Rows of x along axis 0 picked by int64 indices: out shape = idx.shape ++ x.shape[1:]. */
export function gather(x: Tensor, idx: Tensor): Tensor {
  if (idx.dtype !== "int64") throw new TraceError("gather", `indices must be int64, got ${idx.dtype}`);
  if (x.rank < 1) throw new TraceError("gather", "needs a tensor of rank ≥ 1");
  return new Tensor("gather", [x, idx], [...idx.shape, ...x.shape.slice(1)], x.dtype);
}

/** Adjoint of gather: a zero tensor of `shape` with rows of `updates` added at idx (repeats add up). */
export function scatterAdd(updates: Tensor, idx: Tensor, shape: Shape): Tensor {
  const want = [...idx.shape, ...shape.slice(1)];
  if (updates.rank !== want.length || updates.shape.some((d, i) => d !== want[i]))
    throw new TraceError("scatterAdd", `updates ${fmtShape(updates.shape)} must have shape ${fmtShape(want)}`);
  return new Tensor("scatterAdd", [updates, idx], [...shape], updates.dtype);
}

// ---------------------------------------------------------------- reductions

function reduceShape(
  op: string,
  x: Tensor,
  axes: readonly number[] | undefined,
  keepdims: boolean,
): { axes: number[]; shape: number[] } {
  const ax = (axes ?? x.shape.map((_, i) => i)).map((a) => normAxis(op, a, x.rank));
  const shape = keepdims ? x.shape.map((d, i) => (ax.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !ax.includes(i));
  return { axes: [...new Set(ax)].sort((a, b) => a - b), shape };
}

/** Sum over axes (all when omitted). */
export function sum(x: Tensor, axes?: readonly number[], keepdims = false): Tensor {
  const r = reduceShape("sum", x, axes, keepdims);
  if (r.axes.length === 0) return x;
  return new Tensor("reduceSum", [x], r.shape, x.dtype, { axes: r.axes, keepdims });
}

export function mean(x: Tensor, axes?: readonly number[], keepdims = false): Tensor {
  const r = reduceShape("mean", x, axes, keepdims);
  const n = r.axes.reduce((p, a) => p * x.shape[a]!, 1);
  return mul(sum(x, axes, keepdims), 1 / n);
}

export function max(x: Tensor, axes?: readonly number[], keepdims = false): Tensor {
  const r = reduceShape("max", x, axes, keepdims);
  return new Tensor("reduceMax", [x], r.shape, x.dtype, { axes: r.axes, keepdims });
}

/** Sum a broadcast result back down to `shape` (the adjoint of broadcasting). */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (g.rank === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  g.shape.forEach((d, i) => {
    if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  return reshape(sum(g, axes, true), shape);
}

// ---------------------------------------------------------------- matmul, softmax

/** Batched matrix product a[..., m, k] · b[..., k, n] with broadcast batch dims. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank < 2 || b.rank < 2)
    throw new TraceError("matmul", `needs rank ≥ 2 operands, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  if (a.dtype !== b.dtype) throw new TraceError("matmul", `dtypes differ: ${a.dtype} vs ${b.dtype}`);
  const [m, k] = a.shape.slice(-2) as [number, number];
  const [k2, n] = b.shape.slice(-2) as [number, number];
  if (k !== k2) throw new TraceError("matmul", `inner dimensions differ: ${fmtShape(a.shape)} · ${fmtShape(b.shape)}`);
  const batch = broadcastShapes("matmul", a.shape.slice(0, -2), b.shape.slice(0, -2));
  return new Tensor("matmul", [a, b], [...batch, m, n], a.dtype);
}

export function softmax(x: Tensor, axis = -1): Tensor {
  return new Tensor("softmax", [x], x.shape, x.dtype, { axis: normAxis("softmax", axis, x.rank) });
}

// ---------------------------------------------------------------- normalization

/**
 * Group normalization without the affine part: x [N, C, ...] → x̂ = (x − μ_g)/√(σ²_g + eps), with the
 * biased mean and variance over each group of C/G channels × spatial positions. One primitive (with
 * a closed-form VJP) instead of a chain of reductions keeps the training graph small.
 */
export function groupNormalize(x: Tensor, groups: number, eps = 1e-5): Tensor {
  const c = x.shape[1];
  if (x.rank < 2 || c === undefined || !Number.isInteger(groups) || groups < 1 || c % groups !== 0)
    throw new TraceError("groupNorm", `${c} channels of ${fmtShape(x.shape)} do not split into ${groups} groups`);
  return new Tensor("groupNormalize", [x], x.shape, x.dtype, { groups, eps });
}

/**
 * The per-group inverse standard deviation of groupNormalize: x [N, C, ...] → 1/√(σ²_g + eps)
 * [N, G, 1]. Lowered together with groupNormalize on the same x (one LayerNormalization gives both),
 * so the normalization's VJP reuses it instead of recomputing the group statistics.
 */
export function groupInvStd(x: Tensor, groups: number, eps = 1e-5): Tensor {
  groupNormalize(x, groups, eps); // same checks
  return new Tensor("groupInvStd", [x], [x.shape[0]!, groups, 1], x.dtype, { groups, eps });
}

/**
 * Group normalization with its affine part, x̂·γ + β (x̂ = groupNormalize(x), γ and β [C]), as one
 * primitive: its VJP (below) computes the per-channel sums Σ_hw g and Σ_hw g·x̂ once for dβ, dγ and
 * dx, where differentiating x̂·γ + β op by op sums over the same values four times.
 */
export function groupNormAffine(x: Tensor, groups: number, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  groupNormalize(x, groups, eps); // same checks
  const c = x.shape[1]!;
  for (const [name, v] of [
    ["gamma", gamma],
    ["beta", beta],
  ] as const)
    if (v.rank !== 1 || v.shape[0] !== c || v.dtype !== x.dtype)
      throw new TraceError("groupNorm", `${name} must be [${c}] ${x.dtype} for ${fmtShape(x.shape)}, got ${v}`);
  return new Tensor("groupNorm", [x, gamma, beta], x.shape, x.dtype, { groups, eps });
}

/** SiLU / swish x·σ(x) as one primitive whose VJP, g·(σ(x)·(1 − y) + y) with y = x·σ(x), reuses the output. */
export function siluPrimitive(x: Tensor): Tensor {
  if (!isFloat(x.dtype)) throw new TraceError("silu", `needs a float tensor, got ${x.dtype}`);
  return new Tensor("silu", [x], x.shape, x.dtype);
}

/**
 * Alternative formulations kept so that bench/ab.ts can time them against each other in one
 * process; the defaults are the faster ones measured (docs/engine-profile.md).
 *   groupNormVjp: "invstd" reuses groupInvStd; "recompute" recomputes the group statistics.
 *   groupNormAffine: "primitive" (groupNormAffine) or "composite" (groupNormalize, then mul and add).
 *   silu: "primitive" (siluPrimitive) or "composite" (mul(x, sigmoid(x)), differentiated op by op).
 */
export interface TraceVariants {
  groupNormVjp: "invstd" | "recompute";
  groupNormAffine: "primitive" | "composite";
  silu: "primitive" | "composite";
}
const DEFAULT_VARIANTS: TraceVariants = { groupNormVjp: "invstd", groupNormAffine: "primitive", silu: "primitive" };
let variants: TraceVariants = { ...DEFAULT_VARIANTS };
/** Choose formulations for programs traced from now on; no argument restores the defaults. */
export function setTraceVariants(v: Partial<TraceVariants> = {}): void {
  variants = { ...DEFAULT_VARIANTS, ...v };
}
export const traceVariants = (): Readonly<TraceVariants> => variants;

// ---------------------------------------------------------------- VJP rules

const a0 = (n: Tensor) => n.inputs[0]!;
const a1 = (n: Tensor) => n.inputs[1]!;
const zerosLike = (t: Tensor) => expand(scalar(0, t.dtype), t.shape);

defineVjp("neg", (_n, g) => [neg(g)]);
defineVjp("exp", (n, g) => [mul(g, n)]);
defineVjp("log", (n, g) => [div(g, a0(n))]);
defineVjp("sqrt", (n, g) => [div(mul(g, 0.5), n)]);
defineVjp("sin", (n, g) => [mul(g, cos(a0(n)))]);
defineVjp("cos", (n, g) => [neg(mul(g, sin(a0(n))))]);
defineVjp("tanh", (n, g) => [mul(g, sub(1, mul(n, n)))]);
defineVjp("sigmoid", (n, g) => [mul(g, mul(n, sub(1, n)))]);
defineVjp("relu", (n, g) => [where(greater(a0(n), 0), g, 0)]);
defineVjp("abs", (n, g) => [mul(g, sign(a0(n)))]);
defineVjp("reciprocal", (n, g) => [neg(mul(g, mul(n, n)))]);
defineVjp("cast", (n, g) => [cast(g, a0(n).dtype)]);
defineVjp("add", (n, g, need) => [
  need[0] ? sumTo(g, a0(n).shape) : undefined,
  need[1] ? sumTo(g, a1(n).shape) : undefined,
]);
defineVjp("sub", (n, g, need) => [
  need[0] ? sumTo(g, a0(n).shape) : undefined,
  need[1] ? sumTo(neg(g), a1(n).shape) : undefined,
]);
defineVjp("mul", (n, g, need) => [
  need[0] ? sumTo(mul(g, a1(n)), a0(n).shape) : undefined,
  need[1] ? sumTo(mul(g, a0(n)), a1(n).shape) : undefined,
]);
defineVjp("div", (n, g, need) => {
  const [a, b] = n.inputs as [Tensor, Tensor];
  const gb = div(g, b);
  return [need[0] ? sumTo(gb, a.shape) : undefined, need[1] ? sumTo(neg(mul(gb, n)), b.shape) : undefined];
});
defineVjp("pow", (n, g, need) => {
  const [a, b] = n.inputs as [Tensor, Tensor];
  const c = constScalar(b);
  const ga = need[0]
    ? sumTo(mul(g, c !== undefined ? mul(pow(a, c - 1), c) : mul(b, pow(a, sub(b, 1)))), a.shape)
    : undefined;
  const gb = need[1] ? sumTo(mul(g, mul(n, log(a))), b.shape) : undefined;
  return [ga, gb];
});
for (const op of ["maximum", "minimum"] as const) {
  defineVjp(op, (n, g, need) => {
    const [a, b] = n.inputs as [Tensor, Tensor];
    const pickA = op === "maximum" ? greaterEq(a, b) : lessEq(a, b);
    return [
      need[0] ? sumTo(where(pickA, g, 0), a.shape) : undefined,
      need[1] ? sumTo(where(pickA, 0, g), b.shape) : undefined,
    ];
  });
}
defineVjp("where", (n, g, need) => {
  const [c, a, b] = n.inputs as [Tensor, Tensor, Tensor];
  return [
    undefined,
    need[1] ? sumTo(where(c, g, 0), a.shape) : undefined,
    need[2] ? sumTo(where(c, 0, g), b.shape) : undefined,
  ];
});
defineVjp("reshape", (n, g) => [reshape(g, a0(n).shape)]);
defineVjp("transpose", (n, g) => {
  const perm = n.attrs.perm as number[];
  const inv: number[] = [];
  perm.forEach((p, i) => {
    inv[p] = i;
  });
  return [transpose(g, inv)];
});
defineVjp("expand", (n, g) => [sumTo(g, a0(n).shape)]);
defineVjp("concat", (n, g, need) => {
  const axis = n.attrs.axis as number;
  let off = 0;
  return n.inputs.map((t, i) => {
    const s = off;
    off += t.shape[axis]!;
    return need[i] ? slice(g, [s], [off], [axis]) : undefined;
  });
});
defineVjp("slice", (n, g) => {
  const x = a0(n);
  const pads = new Array<number>(2 * x.rank).fill(0);
  (n.attrs.axes as number[]).forEach((a, i) => {
    pads[a] = (n.attrs.starts as number[])[i]!;
    pads[a + x.rank] = x.shape[a]! - (n.attrs.ends as number[])[i]!;
  });
  return [pad(g, pads)];
});
defineVjp("pad", (n, g) => {
  const x = a0(n),
    p = n.attrs.pads as number[];
  return [
    slice(
      g,
      x.shape.map((_, i) => p[i]!),
      x.shape.map((d, i) => p[i]! + d),
    ),
  ];
});
defineVjp("gather", (n, g) => [scatterAdd(g, a1(n), a0(n).shape)]);
defineVjp("scatterAdd", (n, g) => [gather(g, a1(n)), undefined]);
defineVjp("reduceSum", (n, g) => {
  const x = a0(n);
  const keep = x.shape.map((d, i) => ((n.attrs.axes as number[]).includes(i) ? 1 : d));
  return [expand(reshape(g, keep), x.shape)];
});
defineVjp("reduceMax", (n, g) => {
  const x = a0(n);
  const keep = x.shape.map((d, i) => ((n.attrs.axes as number[]).includes(i) ? 1 : d));
  const hit = cast(equal(x, reshape(n, keep)), x.dtype);
  const share = div(hit, sum(hit, n.attrs.axes as number[], true));
  return [mul(share, reshape(g, keep))];
});
defineVjp("matmul", (n, g, need) => {
  const [a, b] = n.inputs as [Tensor, Tensor];
  return [
    need[0] ? sumTo(matmul(g, mT(b)), a.shape) : undefined,
    need[1] ? sumTo(matmul(mT(a), g), b.shape) : undefined,
  ];
});
defineVjp("groupNormalize", (n, g) => {
  // x̂ = (x − μ)/σ per group of m values: dx = (g − mean(g) − x̂·mean(g·x̂))/σ (all over the group)
  const x = a0(n),
    G = n.attrs.groups as number,
    eps = n.attrs.eps as number;
  const grouped = (t: Tensor) => reshape(t, [x.shape[0]!, G, -1]);
  const xg = grouped(x),
    yg = grouped(n),
    gg = grouped(g);
  const inner = sub(sub(gg, mean(gg, [2], true)), mul(yg, mean(mul(gg, yg), [2], true)));
  if (variants.groupNormVjp === "invstd") return [reshape(mul(inner, groupInvStd(x, G, eps)), x.shape)];
  const d = sub(xg, mean(xg, [2], true));
  const sigma = sqrt(add(mean(mul(d, d), [2], true), eps));
  return [reshape(div(inner, sigma), x.shape)];
});
defineVjp("groupNorm", (n, g, need) => {
  // y = x̂·γ + β over groups of m = (C/G)·hw values, r = 1/σ per group; with s₁ = Σ_hw g, s₂ = Σ_hw g·x̂
  // per (n, c): dβ = Σ_n s₁, dγ = Σ_n s₂, and dx = r·(γg − A − x̂·B), A = Σ_{c∈grp} γs₁/m, B = Σ_{c∈grp} γs₂/m.
  const [x, gamma] = n.inputs as [Tensor, Tensor];
  const G = n.attrs.groups as number,
    eps = n.attrs.eps as number;
  const [N, C] = x.shape as [number, number];
  const hw = x.size / (N * C),
    cg = C / G;
  const y = reshape(groupNormalize(x, G, eps), [N, C, hw]),
    gr = reshape(g, [N, C, hw]);
  const s1 = sum(gr, [2]),
    s2 = sum(mul(gr, y), [2]); // [N, C]
  const dGamma = need[1] ? sum(s2, [0]) : undefined,
    dBeta = need[2] ? sum(s1, [0]) : undefined;
  if (!need[0]) return [undefined, dGamma, dBeta];
  const r = groupInvStd(x, G, eps); // [N, G, 1]
  const perGroup = (s: Tensor) => mul(mul(sum(reshape(mul(s, gamma), [N, G, cg]), [2], true), 1 / (cg * hw)), r);
  const at = (t: Tensor) => reshape(t, [N, G, 1, 1]);
  const k = reshape(mul(reshape(gamma, [1, G, cg]), r), [N, G, cg, 1]);
  const dx = sub(
    sub(mul(reshape(g, [N, G, cg, hw]), k), mul(reshape(y, [N, G, cg, hw]), at(perGroup(s2)))),
    at(perGroup(s1)),
  );
  return [reshape(dx, x.shape), dGamma, dBeta];
});
defineVjp("groupInvStd", (n, g) => {
  // r = (σ² + eps)^(−1/2), σ² = mean((x − μ)²) over m values: ∂r/∂x_i = −r³(x_i − μ)/m = −r²·x̂_i/m
  const x = a0(n),
    G = n.attrs.groups as number,
    eps = n.attrs.eps as number;
  const yg = reshape(groupNormalize(x, G, eps), [x.shape[0]!, G, -1]);
  const m = yg.shape[2]!;
  return [reshape(mul(yg, mul(g, mul(mul(n, n), -1 / m))), x.shape)];
});
defineVjp("silu", (n, g) => {
  const s = sigmoid(a0(n));
  return [mul(g, add(mul(s, sub(1, n)), n))];
});
defineVjp("softmax", (n, g) => {
  const gy = mul(g, n);
  return [sub(gy, mul(n, sum(gy, [n.attrs.axis as number], true)))];
});

export { zerosLike };
