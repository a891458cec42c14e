/**
 * Lowering of traced programs to ONNX (opset 17) ModelProto bytes with the onnx-proto binding.
 * Most ops map one-to-one. Convolutions pick the fastest form measured on ORT's CPU provider
 * (see ../shared/DESIGN.md and docs/engine-profile.md): Conv for the forward pass (a depthwise Conv
 * plus a channel sum for frozen 1-output-channel filters); ConvTranspose for strided input
 * gradients, or one MatMul + Gather col2im when the gradient image has ≤ 25 pixels, and a Conv with
 * the flipped kernel for stride 1; weight gradients by a channels-last im2col Gather and one matrix
 * product, re-laid out by an identity product. float64 has no Conv kernels in ORT, so float64
 * convolutions all take the Gather + MatMul form (also an independent oracle for float32). Group
 * norm takes InstanceNormalization, or LayerNormalization where a VJP reuses its 1/σ.
 */
import onnxProto from "onnx-proto";
import { type ConvGeometry, convOutHW, geometryOf } from "./conv.ts";
import { type DType, type HostArray, type Tensor, TraceError, sizeOf, topoSort } from "./tensor.ts";

const { onnx } = onnxProto;
type NodeProto = InstanceType<typeof onnx.NodeProto>;
type TensorProto = InstanceType<typeof onnx.TensorProto>;
export const OPSET = 17;

const ELEM: Record<DType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float64: onnx.TensorProto.DataType.DOUBLE,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** An ONNX attribute value: int, ints, string, or { f } for a float. */
type Attr = number | number[] | string | { f: number };
function attribute(name: string, v: Attr) {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === "string") return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === "object" && !Array.isArray(v)) return { name, type: T.FLOAT, f: v.f };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  return { name, type: T.INT, i: v };
}

function tensorProto(name: string, dtype: DType, shape: readonly number[], data: HostArray): TensorProto {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return onnx.TensorProto.create({ name, dataType: ELEM[dtype], dims: [...shape], rawData: bytes.slice() });
}

/** Accumulates ONNX nodes and initializers with fresh names. */
class Emitter {
  readonly nodes: NodeProto[] = [];
  readonly inits: TensorProto[] = [];
  /** Ids of the program inputs frozen into it as initializers (ProgramSpec.constants). */
  readonly constantIds = new Set<number>();
  /** Ids of the values whose groupInvStd the program computes (their group norm then uses LayerNormalization). */
  readonly invStdOf = new Set<number>();
  /** patchKey(x, geometry) of every float32 weight gradient that builds x's patch matrix (lowerBackWeight). */
  readonly weightGradPatches = new Set<string>();
  /** Channel concats read only by NCHW-col2im input gradients, by id: their parts' names (no Concat emitted). */
  readonly concatParts = new Map<number, string[]>();
  /** Ids of the channel concats that concatParts will take (decided before lowering). */
  readonly absorbedConcats = new Set<number>();
  /** Operator domains used besides the default one (each needs an opset import). */
  readonly domains = new Set<string>();
  private n = 0;
  fresh(prefix: string): string {
    return `${prefix}_${this.n++}`;
  }
  node(op: string, inputs: string[], attrs: Record<string, Attr> = {}, out = this.fresh(op)): string {
    return this.nodeOuts(op, inputs, attrs, [out])[0]!;
  }
  /** A node with several outputs ("" leaves an optional output out); `domain` for ORT's contrib ops. */
  nodeOuts(op: string, inputs: string[], attrs: Record<string, Attr>, outs: string[], domain = ""): string[] {
    if (domain) this.domains.add(domain);
    this.nodes.push(
      onnx.NodeProto.create({
        opType: op,
        domain,
        input: inputs,
        output: outs,
        name: outs.find((o) => o) ?? this.fresh(op),
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      }),
    );
    return outs;
  }
  private readonly memo = new Map<string, unknown>();
  /** The value made by `make` the first time `key` is asked for (shared sub-results of several traced ops). */
  once<T>(key: string, make: () => T): T {
    if (!this.memo.has(key)) this.memo.set(key, make());
    return this.memo.get(key) as T;
  }
  init(dtype: DType, shape: readonly number[], data: HostArray, prefix = "c"): string {
    const name = this.fresh(prefix);
    this.inits.push(tensorProto(name, dtype, shape, data));
    return name;
  }
  ints(v: readonly number[]): string {
    return this.init(
      "int64",
      [v.length],
      BigInt64Array.from(v, (x) => BigInt(x)),
      "i",
    );
  }
  scalar(dtype: DType, v: number): string {
    return this.init(dtype, [], dtype === "float64" ? Float64Array.of(v) : Float32Array.of(v), "s");
  }
}

const UNARY_ONNX: Record<string, string> = {
  neg: "Neg",
  exp: "Exp",
  log: "Log",
  sqrt: "Sqrt",
  sin: "Sin",
  cos: "Cos",
  tanh: "Tanh",
  relu: "Relu",
  abs: "Abs",
  sign: "Sign",
  reciprocal: "Reciprocal",
  stopGradient: "Identity",
};
const BINARY_ONNX: Record<string, string> = {
  add: "Add",
  sub: "Sub",
  mul: "Mul",
  div: "Div",
  pow: "Pow",
  maximum: "Max",
  minimum: "Min",
  less: "Less",
  greater: "Greater",
  equal: "Equal",
  lessEq: "LessOrEqual",
  greaterEq: "GreaterOrEqual",
};

function lowerNode(e: Emitter, t: Tensor, ins: string[]): string {
  const a = t.attrs;
  if (ARITHMETIC.has(t.op)) {
    const [x, y] = t.inputs as [Tensor, Tensor];
    return arithmetic(e, BINARY_ONNX[t.op]!, { name: ins[0]!, shape: x.shape }, { name: ins[1]!, shape: y.shape }, t);
  }
  const u = UNARY_ONNX[t.op] ?? BINARY_ONNX[t.op];
  if (u) return e.node(u, ins);
  switch (t.op) {
    case "const":
      return e.init(t.dtype, t.shape, a.value as HostArray);
    case "where":
      return e.node("Where", ins);
    case "cast":
    case "cast_int":
      return e.node("Cast", ins, { to: ELEM[t.dtype] });
    case "reshape":
      return e.node("Reshape", [ins[0]!, e.ints(t.shape)]);
    case "transpose":
      return e.node("Transpose", ins, { perm: a.perm as number[] });
    case "expand":
      return e.node("Expand", [ins[0]!, e.ints(t.shape)]);
    case "concat":
      if (e.absorbedConcats.has(t.id)) {
        e.concatParts.set(t.id, ins);
        return "";
      }
      return e.node("Concat", ins, { axis: a.axis as number });
    case "slice":
      return e.node("Slice", [
        ins[0]!,
        e.ints(a.starts as number[]),
        e.ints(a.ends as number[]),
        e.ints(a.axes as number[]),
      ]);
    case "pad":
      return e.node("Pad", [ins[0]!, e.ints(a.pads as number[])]);
    case "gather":
      return e.node("Gather", ins, { axis: 0 });
    case "scatterAdd": {
      const zero = e.node("Expand", [e.scalar(t.dtype, 0), e.ints(t.shape)]);
      const idx = e.node("Unsqueeze", [ins[1]!, e.ints([-1])]);
      return e.node("ScatterND", [zero, idx, ins[0]!], { reduction: "add" });
    }
    case "reduceSum":
      return e.node("ReduceSum", [ins[0]!, e.ints(a.axes as number[])], { keepdims: a.keepdims ? 1 : 0 });
    case "reduceMax":
      return e.node("ReduceMax", ins, { axes: a.axes as number[], keepdims: a.keepdims ? 1 : 0 });
    case "matmul":
      return e.node("MatMul", ins);
    case "softmax":
      return e.node("Softmax", ins, { axis: a.axis as number });
    case "sigmoid":
      return sigmoidOf(e, ins[0]!);
    case "silu":
      return e.node("Mul", [ins[0]!, sigmoidOf(e, ins[0]!)]);
    case "groupNormalize":
      return lowerGroupNormalize(e, t, ins[0]!);
    case "groupInvStd":
      return lowerGroupInvStd(e, t, ins[0]!);
    case "groupNorm":
      return lowerGroupNorm(e, t, ins);
    case "conv":
      return lowerConv(e, t, ins);
    case "convBackInput":
      return lowerBackInput(e, t, ins);
    case "convBackWeight":
      return lowerBackWeight(e, t, ins);
    default:
      throw new TraceError("lower", `no ONNX lowering for op '${t.op}'`);
  }
}

/** One Sigmoid per value (a SiLU and its VJP share it; ORT fuses a lone x·σ(x) into QuickGelu). */
const sigmoidOf = (e: Emitter, x: string) => e.once(`Sigmoid|${x}`, () => e.node("Sigmoid", [x]));

/**
 * The float32 kernel for groupNormalize's forward: "layer" (LayerNormalization over [N, G, m], which
 * also yields the inverse standard deviation its VJP needs), "instance" (InstanceNormalization, about
 * 2–3× faster than ORT's LayerNormalization for these shapes but without 1/σ), or "auto" (the
 * default): LayerNormalization where the program also asks for groupInvStd of the same value,
 * InstanceNormalization elsewhere (forward-only programs).
 */
export type NormKernel = "auto" | "layer" | "instance";
let normKernel: NormKernel = "auto";
/** Override the group-norm kernel (benchmarks compare them); no argument restores the default. */
export function setNormKernel(k: NormKernel = "auto"): void {
  normKernel = k;
}

interface GroupArgs {
  x: string;
  n: number;
  G: number;
  m: number;
  eps: number;
  dtype: DType;
}
const groupArgs = (t: Tensor, x: string): GroupArgs => {
  const src = t.inputs[0]!;
  const n = src.shape[0]!,
    G = t.attrs.groups as number;
  return { x, n, G, m: src.size / (n * G), eps: t.attrs.eps as number, dtype: t.dtype };
};
const grouped = (e: Emitter, a: GroupArgs) =>
  e.once(`group|${a.x}|${a.G}`, () => e.node("Reshape", [a.x, e.ints([a.n, a.G, a.m])]));

/** float32: LayerNormalization over the last axis of [N, G, m] → (x̂ [N, G, m], 1/√(σ² + eps) [N, G, 1]). */
function layerNormOf(e: Emitter, a: GroupArgs): { y: string; invStd: string } {
  return e.once(`LayerNorm|${a.x}|${a.G}|${a.eps}`, () => {
    const y = e.fresh("gn"),
      invStd = e.fresh("gn_invstd");
    e.nodeOuts(
      "LayerNormalization",
      [
        grouped(e, a),
        e.init("float32", [a.m], new Float32Array(a.m).fill(1)),
        e.init("float32", [a.m], new Float32Array(a.m)),
      ],
      { axis: -1, epsilon: { f: a.eps } },
      [y, "", invStd],
    );
    return { y, invStd };
  });
}

/** float64: the group statistics by reductions → (x − μ [N, G, m], σ = √(var + eps) [N, G, 1]). */
function momentsOf(e: Emitter, a: GroupArgs): { d: string; sigma: string } {
  return e.once(`moments|${a.x}|${a.G}|${a.eps}`, () => {
    const g = grouped(e, a);
    const d = e.node("Sub", [g, e.node("ReduceMean", [g], { axes: [2], keepdims: 1 })]);
    const v = e.node("ReduceMean", [e.node("Mul", [d, d])], { axes: [2], keepdims: 1 });
    return { d, sigma: e.node("Sqrt", [e.node("Add", [v, e.scalar(a.dtype, a.eps)])]) };
  });
}

/** [N, C, …] viewed as [N, G, m] and normalized over m (LayerNormalization, InstanceNormalization or, in float64, reductions). */
function lowerGroupNormalize(e: Emitter, t: Tensor, x: string): string {
  const a = groupArgs(t, x);
  let y: string;
  const layer = normKernel === "layer" || (normKernel === "auto" && e.invStdOf.has(t.inputs[0]!.id));
  if (t.dtype === "float32" && layer) y = layerNormOf(e, a).y;
  else if (t.dtype === "float32")
    y = e.node(
      "InstanceNormalization",
      [
        grouped(e, a),
        e.init("float32", [a.G], new Float32Array(a.G).fill(1)),
        e.init("float32", [a.G], new Float32Array(a.G)),
      ],
      { epsilon: { f: a.eps } },
    );
  else {
    const { d, sigma } = momentsOf(e, a);
    y = e.node("Div", [d, sigma]);
  }
  return e.node("Reshape", [y, e.ints(t.shape)]);
}

/**
 * x̂·γ + β. With one channel per group (groups = C) and no 1/σ wanted by a VJP, float32 takes
 * InstanceNormalization with γ and β as its own scale and bias: one kernel instead of a
 * normalization, a Mul and an Add (ScoreNet's tgnorm2, 32 groups of 32 channels at 26×26).
 */
function lowerGroupNorm(e: Emitter, t: Tensor, ins: string[]): string {
  const [n, c] = t.shape as [number, number];
  const x = t.inputs[0]!;
  if (t.dtype === "float32" && t.attrs.groups === c && !e.invStdOf.has(x.id) && normKernel !== "layer") {
    const rows = e.node("Reshape", [ins[0]!, e.ints([n, c, x.size / (n * c)])]);
    const y = e.node("InstanceNormalization", [rows, ins[1]!, ins[2]!], { epsilon: { f: t.attrs.eps as number } });
    return e.node("Reshape", [y, e.ints(t.shape)]);
  }
  const bshape = [1, c, ...t.shape.slice(2).map(() => 1)];
  const perChannel = (v: string) => ({ name: e.node("Reshape", [v, e.ints(bshape)]), shape: bshape });
  const whole = (name: string) => ({ name, shape: t.shape });
  const scaled = arithmetic(e, "Mul", whole(lowerGroupNormalize(e, t, ins[0]!)), perChannel(ins[1]!), t);
  return arithmetic(e, "Add", whole(scaled), perChannel(ins[2]!), t);
}

// ---------------------------------------------------------------- broadcast arithmetic

/** Traced ops lowered by `arithmetic`. */
const ARITHMETIC = new Set(["add", "sub", "mul", "div"]);

/** Below this many values per broadcast run, `arithmetic` widens the narrow operand (at 144 it was slower). */
const SMALL_SPAN = 64;
let widenSmallSpans = true;
/** Turn the widening of `arithmetic` off or on (benchmarks compare; no argument restores on). */
export function setSmallSpanBroadcast(on = true): void {
  widenSmallSpans = on;
}

/**
 * A float32 Add/Sub/Mul/Div of a full operand [.., k trailing dims] and a narrow one that is 1 on
 * those trailing dims (a per-channel γ [1, C, 1, 1], a per-image-and-channel embedding [N, C, 1, 1])
 * when the trailing dims hold fewer than SMALL_SPAN values. ORT's CPU broadcast handles one run of
 * the trailing dims per call with a scalar, ~4 ns a value at 4 values per run (ScoreNet's 2×2 and
 * 5×5 layers) against ~0.2 ns for long runs. So the narrow operand is widened first: repeated over
 * the trailing dims by a product with a row of ones ([M, 1]·[1, S], when it varies along every
 * leading dim) or by Expand to its own leading dims (when it is shared across some, e.g. the batch),
 * which leaves ORT one long run per shared index. Other cases lower to the plain ONNX op.
 */
function arithmetic(
  e: Emitter,
  op: string,
  x: { name: string; shape: readonly number[] },
  y: { name: string; shape: readonly number[] },
  out: Tensor,
): string {
  const narrow =
    widenSmallSpans && out.dtype === "float32" && out.size >= 4096
      ? narrowOperand(x.shape, y.shape, out.shape)
      : undefined;
  if (!narrow) return e.node(op, [x.name, y.name]);
  const wide = widen(e, narrow.side === "x" ? x.name : y.name, narrow.shape, narrow.k, out.shape);
  return e.node(op, narrow.side === "x" ? [wide, y.name] : [x.name, wide]);
}

/**
 * The operand that is narrow on small trailing dims while the other has the output's shape, if one
 * is: which side, its shape padded to the output's rank, and k, where its trailing run of 1s starts.
 */
function narrowOperand(
  xs: readonly number[],
  ys: readonly number[],
  out: readonly number[],
): { side: "x" | "y"; shape: number[]; k: number } | undefined {
  const same = (s: readonly number[]) => s.length === out.length && s.every((d, i) => d === out[i]);
  const side = same(xs) ? "y" : same(ys) ? "x" : undefined;
  if (!side) return undefined;
  const shape = [...Array(out.length - (side === "x" ? xs : ys).length).fill(1), ...(side === "x" ? xs : ys)];
  let k = shape.length;
  while (k > 0 && shape[k - 1] === 1) k--;
  const span = sizeOf(out.slice(k));
  return k > 0 && k < out.length && span > 1 && span < SMALL_SPAN ? { side, shape, k } : undefined;
}

/** `v` (shape `s`, 1 on the dims from k on) repeated over those dims of `out`. */
function widen(e: Emitter, v: string, s: readonly number[], k: number, out: readonly number[]): string {
  const target = [...s.slice(0, k), ...out.slice(k)];
  if (s.slice(0, k).some((d, i) => d !== out[i])) return e.node("Expand", [v, e.ints(target)]);
  const span = sizeOf(out.slice(k));
  const ones = e.once(`ones|${span}`, () => e.init("float32", [1, span], new Float32Array(span).fill(1), "ones"));
  const repeated = e.node("MatMul", [e.node("Reshape", [v, e.ints([sizeOf(s.slice(0, k)), 1])]), ones]);
  return e.node("Reshape", [repeated, e.ints(target)]);
}

/** 1/√(σ² + eps) per group [N, G, 1]: LayerNormalization's third output (float32) or 1/σ of the reductions (float64). */
function lowerGroupInvStd(e: Emitter, t: Tensor, x: string): string {
  const a = groupArgs(t, x);
  if (t.dtype === "float32") return layerNormOf(e, a).invStd;
  return e.node("Reciprocal", [momentsOf(e, a).sigma]);
}

// ---------------------------------------------------------------- convolutions

function convAttrs(g: ConvGeometry): Record<string, Attr> {
  return { kernel_shape: [...g.kHW], strides: [...g.stride], dilations: [...g.dilation], pads: [...g.pads] };
}

/** NCHW [n,c,h,w] → channels-last rows [n·h·w + 1, c] whose last row is zeros (the pad target). */
function rowsWithZero(e: Emitter, x: string, n: number, c: number, h: number, w: number, dtype: DType): string {
  const nhwc = e.node("Transpose", [x], { perm: [0, 2, 3, 1] });
  const rows = e.node("Reshape", [nhwc, e.ints([n * h * w, c])]);
  const zero = e.init(dtype, [1, c], dtype === "float64" ? new Float64Array(c) : new Float32Array(c), "z");
  return e.node("Concat", [rows, zero], { axis: 0 });
}

/**
 * Patch gathering: for each target pixel (n, ht, wt) and kernel tap (i, j), the source row
 * n·Hs·Ws + hs·Ws + ws, or the zero row when (hs, ws) = map(ht, i), map(wt, j) falls outside.
 * Returns [n·Ht·Wt, kh·kw·C] (tap-major, channel-minor).
 */
function gatherPatches(
  e: Emitter,
  rows: string,
  c: number,
  n: number,
  src: [number, number],
  dst: [number, number],
  k: readonly [number, number],
  mapH: (ht: number, i: number) => number,
  mapW: (wt: number, j: number) => number,
): string {
  const [hs, ws] = src,
    [ht, wt] = dst,
    [kh, kw] = k;
  const zeroRow = n * hs * ws;
  const idx = new BigInt64Array(n * ht * wt * kh * kw);
  let p = 0;
  for (let b = 0; b < n; b++)
    for (let y = 0; y < ht; y++)
      for (let x = 0; x < wt; x++)
        for (let i = 0; i < kh; i++) {
          const sy = mapH(y, i);
          for (let j = 0; j < kw; j++) {
            const sx = mapW(x, j);
            idx[p++] = BigInt(sy < 0 || sy >= hs || sx < 0 || sx >= ws ? zeroRow : b * hs * ws + sy * ws + sx);
          }
        }
  const g = e.node("Gather", [rows, e.init("int64", [idx.length], idx, "im2col")], { axis: 0 });
  return e.node("Reshape", [g, e.ints([n * ht * wt, kh * kw * c])]);
}

/** Source index for a conv tap: hs = ht·s − pad + i·d. */
const forwardMap = (s: number, p: number, d: number) => (t: number, i: number) => t * s - p + i * d;
/** Source index for an input-gradient tap: ho = (h + pad − i·d)/s when integral, else none. */
const backMap = (s: number, p: number, d: number) => (t: number, i: number) => {
  const q = t + p - i * d;
  return q % s === 0 ? q / s : -1;
};

type TapMap = (stride: number, pad: number, dilation: number) => (t: number, i: number) => number;

/**
 * The patch matrix of NCHW tensor `src` [n, c, srcHW] for every pixel of a dstHW grid under
 * geometry g, with `map` (forwardMap or backMap) giving the source index of each tap:
 * [n·Ht·Wt, kh·kw·c].
 */
function convPatches(
  e: Emitter,
  src: string,
  dtype: DType,
  n: number,
  c: number,
  srcHW: readonly [number, number],
  dstHW: readonly [number, number],
  g: ConvGeometry,
  map: TapMap,
): string {
  // One patch matrix per source and geometry: a conv and its weight gradient share it (the Gather's
  // index table is a fresh initializer each time, so ORT's common-subexpression pass would not).
  const key = `patches|${src}|${JSON.stringify(g)}|${JSON.stringify(dstHW)}|${map === forwardMap ? "f" : "b"}`;
  return e.once(key, () => {
    const rows = rowsWithZero(e, src, n, c, srcHW[0], srcHW[1], dtype);
    return gatherPatches(
      e,
      rows,
      c,
      n,
      [...srcHW],
      [...dstHW],
      [...g.kHW],
      map(g.stride[0], g.pads[0], g.dilation[0]),
      map(g.stride[1], g.pads[1], g.dilation[1]),
    );
  });
}

/** Key of a value's patch matrix under a conv geometry (Emitter.weightGradPatches). */
const patchKey = (x: Tensor, g: ConvGeometry) => `${x.id}|${JSON.stringify(g)}`;

/**
 * Whether a float32 conv with a fed filter takes its patches from the matrix its weight gradient
 * builds anyway (one product, no per-image im2col of its own): "auto" (the default) where the
 * program has that weight gradient and the output has at most 25 pixels per image — there ORT's
 * Conv runs one skinny product per image (ScoreNet's conv3 and tconv3's input gradient, 5×5: fastest
 * tenth 0.66× and 0.95× with their weight gradients); at 12×12 its Conv is as fast or faster
 * (conv2 0.97×, tconv2's input gradient 1.08×); "always" for every such conv, "never" to keep ORT's Conv.
 */
export type SharedPatches = "auto" | "always" | "never";
let sharedPatches: SharedPatches = "auto";
/** Override the choice above (benchmarks compare them); no argument restores the default. */
export function setSharedPatches(p: SharedPatches = "auto"): void {
  sharedPatches = p;
}

function nchwFromRows(e: Emitter, m: string, n: number, h: number, w: number, c: number): string {
  return e.node("Transpose", [e.node("Reshape", [m, e.ints([n, h, w, c])])], { perm: [0, 3, 1, 2] });
}

/**
 * y = conv(x, w) from x's patch matrix cols [N·Ho·Wo, taps·C] (shared with x's weight gradient, see
 * convPatches). "rows": cols · filterᵀ gives channels-last rows, transposed to NCHW. "channels-first"
 * (float32): filter · colsᵀ gives y as [O, N·Ho·Wo], and the batch axis moves out in whole Ho·Wo runs.
 */
function convIm2col(e: Emitter, t: Tensor, x: string, w: string, out: "rows" | "channels-first" = "rows"): string {
  const g = geometryOf(t);
  const [xs, ws] = t.inputs as [Tensor, Tensor];
  const [n, c] = xs.shape as [number, number];
  const o = ws.shape[0]!;
  const [ho, wo] = convOutHW(g);
  const cols = convPatches(e, x, t.dtype, n, c, g.inHW, [ho, wo], g, forwardMap);
  const taps = g.kHW[0] * g.kHW[1];
  // The float32 filter as [O, taps·C] rows by the identity product.
  const filterRows = () => e.node("Reshape", [swapLastTwo(e, w, o, c, taps), e.ints([o, taps * c])]);
  if (out === "channels-first") {
    const yt = e.node("Reshape", [e.node("Gemm", [filterRows(), cols], { transB: 1 }), e.ints([o, n, ho * wo])]);
    return e.node("Reshape", [e.node("Transpose", [yt], { perm: [1, 0, 2] }), e.ints([n, o, ho, wo])]);
  }
  if (t.dtype === "float32" && weightGradTranspose === "matmul")
    return nchwFromRows(e, e.node("Gemm", [cols, filterRows()], { transB: 1 }), n, ho, wo, o);
  const wm = e.node("Reshape", [e.node("Transpose", [w], { perm: [2, 3, 1, 0] }), e.ints([taps * c, o])]);
  return nchwFromRows(e, e.node("MatMul", [cols, wm]), n, ho, wo, o);
}

/**
 * How a float32 conv or convBackInput is lowered: "ort" (ORT's Conv / ConvTranspose kernels) or
 * "gather" (batched Gather-im2col + one MatMul, the float64 form). float64 always takes "gather".
 */
export type ConvForm = "ort" | "gather";
export type ConvFormPolicy = (op: "conv" | "convBackInput", t: Tensor) => ConvForm;
const defaultConvForm: ConvFormPolicy = () => "ort";
let convForm: ConvFormPolicy = defaultConvForm;
/** Override the conv lowering choice (benchmarks compare forms with it); no argument restores the default. */
export function setConvFormPolicy(p: ConvFormPolicy = defaultConvForm): void {
  convForm = p;
}

/**
 * Single-output-channel convolutions with constant (frozen) filters: ORT's blocked NCHWc Conv pads the
 * output channels to its block (16 with AVX-512), so a 1-channel output costs a 16-channel one.
 * Instead: a depthwise Conv (one 1→1 filter per input channel, also NCHWc) and a sum over channels.
 * "depthwise-sum" does that (the default); "conv" keeps the plain Conv.
 */
export type SingleChannelConv = "depthwise-sum" | "conv";
let singleChannelConv: SingleChannelConv = "depthwise-sum";
/** Override the single-output-channel form (benchmarks compare them); no argument restores the default. */
export function setSingleChannelConv(f: SingleChannelConv = "depthwise-sum"): void {
  singleChannelConv = f;
}

/** Conv(x, w) for w [1, C, kh, kw] (constant) as Σ_c depthwise: x [N, C, H, W] → [N, 1, Ho, Wo]. */
function depthwiseSum(
  e: Emitter,
  x: string,
  w: string,
  c: number,
  kHW: readonly number[],
  attrs: Record<string, Attr>,
) {
  const wd = e.node("Reshape", [w, e.ints([c, 1, kHW[0]!, kHW[1]!])]);
  return e.node("ReduceSum", [e.node("Conv", [x, wd], { ...attrs, group: c }), e.ints([1])], { keepdims: 1 });
}

/** Whether a conv lowering should take the depthwise-sum form: float32, constant filter, one output channel of several inputs. */
const useDepthwiseSum = (e: Emitter, t: Tensor, outChannels: number, inChannels: number) =>
  singleChannelConv === "depthwise-sum" &&
  t.dtype === "float32" &&
  outChannels === 1 &&
  inChannels > 1 &&
  e.constantIds.has(t.inputs[1]!.id);

/**
 * Float32 convolutions with fed (not frozen) filters and outputs of at most this many pixels take the
 * Gather-im2col + one product form: ORT's Conv runs one skinny product per image there (ScoreNet's
 * conv4 and tconv4's input gradient: 2×2 outputs). 0 = never.
 */
let im2colMaxPixels = 4;
/** Override the threshold above (benchmarks compare forms); no argument restores the default. */
export function setIm2colMaxPixels(n = 4): void {
  im2colMaxPixels = n;
}

function lowerConv(e: Emitter, t: Tensor, ins: string[]): string {
  const tiny = t.shape[2]! * t.shape[3]! <= im2colMaxPixels && !e.constantIds.has(t.inputs[1]!.id);
  if (t.dtype === "float64" || tiny || convForm("conv", t) === "gather") return convIm2col(e, t, ins[0]!, ins[1]!);
  if (
    (sharedPatches === "always" || (sharedPatches === "auto" && t.shape[2]! * t.shape[3]! <= 25)) &&
    !e.constantIds.has(t.inputs[1]!.id) &&
    e.weightGradPatches.has(patchKey(t.inputs[0]!, geometryOf(t)))
  )
    return convIm2col(e, t, ins[0]!, ins[1]!, "channels-first");
  const [o, c] = t.inputs[1]!.shape as [number, number];
  if (useDepthwiseSum(e, t, o, c))
    return depthwiseSum(e, ins[0]!, ins[1]!, c, geometryOf(t).kHW, convAttrs(geometryOf(t)));
  return e.node("Conv", ins, convAttrs(geometryOf(t)));
}

function lowerBackInput(e: Emitter, t: Tensor, ins: string[]): string {
  const g = geometryOf(t);
  const [gy, w] = ins as [string, string];
  const [gys, wt] = t.inputs as [Tensor, Tensor];
  const [o, c] = wt.shape as [number, number];
  const n = gys.shape[0]!;
  const [ho, wo] = convOutHW(g);
  if (t.dtype === "float64" || convForm("convBackInput", t) === "gather") {
    const cols = convPatches(e, gy, t.dtype, n, o, [ho, wo], g.inHW, g, backMap);
    const wb = e.node("Reshape", [
      e.node("Transpose", [w], { perm: [2, 3, 0, 1] }),
      e.ints([g.kHW[0] * g.kHW[1] * o, c]),
    ]);
    return nchwFromRows(e, e.node("MatMul", [cols, wb]), n, g.inHW[0], g.inHW[1], c);
  }
  if (takesNchwCol2im(e, t)) return backInputByNchwCol2im(e, t, gy, w);
  const span = (i: 0 | 1) => g.dilation[i] * (g.kHW[i] - 1);
  const flipPads = [span(0) - g.pads[0], span(1) - g.pads[1], span(0) - g.pads[2], span(1) - g.pads[3]];
  if (g.stride[0] === 1 && g.stride[1] === 1 && flipPads.every((p) => p >= 0)) {
    // Stride 1: a Conv with the kernel flipped spatially and in/out channels swapped is several times faster.
    const flipped = flipKernel(e, w, g.kHW);
    const attrs = { kernel_shape: [...g.kHW], strides: [1, 1], dilations: [...g.dilation], pads: flipPads };
    // w [O, 1, kh, kw] flipped is already the depthwise filter bank [O, 1, kh, kw].
    if (useDepthwiseSum(e, t, c, o)) return depthwiseSum(e, gy, flipped, o, g.kHW, attrs);
    const wf = e.node("Transpose", [flipped], { perm: [1, 0, 2, 3] });
    return e.node("Conv", [gy, wf], attrs);
  }
  if (t.dtype === "float32" && ho * wo <= col2imMaxPixels) return backInputByCol2im(e, t, gy, w);
  const outPad = [0, 1].map(
    (i) => g.inHW[i]! - (g.stride[i]! * ([ho, wo][i]! - 1) + span(i as 0 | 1) + 1 - g.pads[i]! - g.pads[i + 2]!),
  );
  return e.node("ConvTranspose", [gy, w], { ...convAttrs(g), output_padding: outPad });
}

/** Whether convBackInput t is lowered by backInputByNchwCol2im (float32, few gx channels; see below). */
function takesNchwCol2im(e: Emitter, t: Tensor): boolean {
  const g = geometryOf(t);
  const wt = t.inputs[1]!;
  const unitStride = g.stride[0] === 1 && g.stride[1] === 1;
  return (
    t.dtype === "float32" &&
    convForm("convBackInput", t) !== "gather" &&
    wt.shape[1]! * g.kHW[0] * g.kHW[1] <= nchwCol2imMaxRows &&
    (!e.constantIds.has(wt.id) || (unitStride && col2imShifts))
  );
}

/**
 * Channel concats (axis 1) that only NCHW-col2im input gradients read, as gy: those take the parts'
 * products one by one and add them (a U-Net skip into ScoreNet's tconv1: no [N, 64, 26, 26] copy).
 * `outputs` are the program's output ids (an output is always materialized).
 */
function concatsToAbsorb(order: readonly Tensor[], outputs: ReadonlySet<number>, e: Emitter): Set<number> {
  const absorbed = new Set<number>();
  if (!absorbConcats) return absorbed;
  const readers = new Map<number, Tensor[]>();
  for (const t of order)
    for (const i of t.inputs) {
      const list = readers.get(i.id);
      if (list) list.push(t);
      else readers.set(i.id, [t]);
    }
  for (const t of order) {
    if (t.op !== "concat" || t.attrs.axis !== 1 || t.rank !== 4 || t.dtype !== "float32" || outputs.has(t.id)) continue;
    const rs = readers.get(t.id) ?? [];
    if (rs.length && rs.every((r) => r.op === "convBackInput" && r.inputs[0] === t && takesNchwCol2im(e, r)))
      absorbed.add(t.id);
  }
  return absorbed;
}
let absorbConcats = true;
/** Turn concat absorption (concatsToAbsorb) off or on (benchmarks compare; no argument restores on). */
export function setAbsorbConcats(on = true): void {
  absorbConcats = on;
}

/**
 * How a float32 input gradient (transposed convolution) with few input-side channels is lowered:
 * for C·kh·kw ≤ this many filter rows (C = gx's channels), one broadcast matrix product in NCHW and a
 * Gather col2im (backInputByNchwCol2im) instead of ORT's Conv/ConvTranspose, whose im2col per image
 * dominates when C is tiny (tconv1 of ScoreNet: 64 → 1 channel). 0 turns the form off.
 */
let nchwCol2imMaxRows = 9;
/** Override the threshold above (benchmarks compare forms); no argument restores the default. */
export function setNchwCol2imMaxRows(n = 9): void {
  nchwCol2imMaxRows = n;
}

/**
 * gx = convBackInput(gy, w) channels-first: contributions W·gy[n] = [C·kh·kw, O] × [O, ho·wo] for
 * every image by one broadcast MatMul ([n, C·taps, ho·wo], no activation transposes), then each input
 * pixel (c, y, x) gathers its at most T tap contributions (zero column padding) and sums them.
 */
function backInputByNchwCol2im(e: Emitter, t: Tensor, gy: string, w: string): string {
  const g = geometryOf(t);
  const [gys, wt] = t.inputs as [Tensor, Tensor];
  const [o, c] = wt.shape as [number, number];
  const n = gys.shape[0]!;
  const [ho, wo] = convOutHW(g);
  const [kh, kw] = g.kHW;
  const [H, W] = g.inHW;
  const taps = kh * kw,
    px = ho * wo;
  const wm = e.node("Reshape", [e.node("Transpose", [w], { perm: [1, 2, 3, 0] }), e.ints([c * taps, o])]);
  const contrib = nchwContributions(e, t, wm, gy, n, px); // [n, C·taps, px]
  if (col2imShifts && g.stride[0] === 1 && g.stride[1] === 1) return col2imByShifts(e, t, contrib);
  const zero = e.init("float32", [n, 1], new Float32Array(n), "z");
  const table = e.node("Concat", [e.node("Reshape", [contrib, e.ints([n, c * taps * px])]), zero], { axis: 1 });
  const mapH = backMap(g.stride[0], g.pads[0], g.dilation[0]),
    mapW = backMap(g.stride[1], g.pads[1], g.dilation[1]);
  const lists: number[][] = [];
  for (let ch = 0; ch < c; ch++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const l: number[] = [];
        for (let i = 0; i < kh; i++) {
          const sy = mapH(y, i);
          if (sy < 0 || sy >= ho) continue;
          for (let j = 0; j < kw; j++) {
            const sx = mapW(x, j);
            if (sx >= 0 && sx < wo) l.push((ch * taps + i * kw + j) * px + sy * wo + sx);
          }
        }
        lists.push(l);
      }
  const T = Math.max(1, ...lists.map((l) => l.length));
  const idx = new BigInt64Array(c * H * W * T);
  let q = 0;
  for (const l of lists) for (let k = 0; k < T; k++) idx[q++] = BigInt(k < l.length ? l[k]! : c * taps * px);
  const gathered = e.node("Gather", [table, e.init("int64", [c * H * W, T], idx, "col2im")], { axis: 1 });
  const summed = e.node("ReduceSum", [gathered, e.ints([2])], { keepdims: 0 });
  return e.node("Reshape", [summed, e.ints([n, c, H, W])]);
}

/**
 * W·gy[n] for every image, [n, C·taps, px], with wm the filter as [C·taps, O]: one broadcast MatMul,
 * or for an absorbed channel concat gy = [gy₁, gy₂, …] the sum of each part's product with its
 * columns of wm.
 */
function nchwContributions(e: Emitter, t: Tensor, wm: string, gy: string, n: number, px: number): string {
  const src = t.inputs[0]!;
  const parts = e.concatParts.get(src.id);
  if (!parts) return e.node("MatMul", [wm, e.node("Reshape", [gy, e.ints([n, src.shape[1]!, px])])]);
  let start = 0;
  const products = parts.map((name, k) => {
    const ck = src.inputs[k]!.shape[1]!;
    const cols = e.node("Slice", [wm, e.ints([start]), e.ints([start + ck]), e.ints([1])]);
    start += ck;
    return e.node("MatMul", [cols, e.node("Reshape", [name, e.ints([n, ck, px])])]);
  });
  return products.length === 1 ? products[0]! : e.node("Sum", products);
}

/**
 * Stride-1 col2im: each tap's contribution plane [n, C, ho, wo] lands on gx shifted by
 * (i·d − pad_top, j·d − pad_left) — cropped by a Slice where it hangs over the edge, placed by a
 * zero Pad — and one Sum adds the kh·kw planes: a few small copies instead of a Gather of single
 * values. `contrib` is [n, C·kh·kw, ho·wo] (channel-major, tap-minor); returns gx [n, C, H, W].
 */
function col2imByShifts(e: Emitter, t: Tensor, contrib: string): string {
  const g = geometryOf(t);
  const [n, c, H, W] = t.shape as [number, number, number, number];
  const [ho, wo] = convOutHW(g);
  const [kh, kw] = g.kHW;
  const planes = e.node("Reshape", [contrib, e.ints([n, c, kh * kw, ho, wo])]);
  const placed: string[] = [];
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++) {
      const oy = i * g.dilation[0] - g.pads[0],
        ox = j * g.dilation[1] - g.pads[1];
      // source rows [y0, y1) land on [oy + y0, oy + y1) ⊂ [0, H); likewise columns
      const y0 = Math.max(0, -oy),
        y1 = Math.min(ho, H - oy),
        x0 = Math.max(0, -ox),
        x1 = Math.min(wo, W - ox);
      if (y1 <= y0 || x1 <= x0) continue;
      const tap = i * kw + j;
      const plane = e.node("Slice", [planes, e.ints([tap, y0, x0]), e.ints([tap + 1, y1, x1]), e.ints([2, 3, 4])]);
      const pads = [0, 0, 0, oy + y0, ox + x0, 0, 0, 0, H - (oy + y1), W - (ox + x1)];
      placed.push(e.node("Pad", [plane, e.ints(pads)]));
    }
  if (placed.length === 0) return e.node("Expand", [e.scalar("float32", 0), e.ints([n, c, H, W])]);
  const sum = placed.length === 1 ? placed[0]! : e.node("Sum", placed);
  return e.node("Reshape", [sum, e.ints([n, c, H, W])]);
}

/**
 * Whether stride-1 input gradients of few input-side channels (see nchwCol2imMaxRows) take the
 * shift-and-sum col2im (col2imByShifts), also with frozen filters, instead of the Gather col2im
 * (fed filters) or a depthwise Conv + channel sum (frozen).
 */
let col2imShifts = true;
/** Override the choice above (benchmarks compare them); no argument restores the default. */
export function setCol2imShifts(on = true): void {
  col2imShifts = on;
}

/**
 * A filter bank w [O, C, kh, kw] reversed along both spatial axes, by two Gathers with constant
 * reversed indices rather than a step −1 Slice (onnxruntime-web's WebGPU kernel computes the latter
 * wrongly); on CPU the two forms cost the same (the filters are small, and constant-folded when frozen).
 */
function flipKernel(e: Emitter, w: string, kHW: readonly number[]): string {
  const reversed = (k: number) => e.ints(Array.from({ length: k }, (_, i) => k - 1 - i));
  const rows = e.node("Gather", [w, reversed(kHW[0]!)], { axis: 2 });
  return e.node("Gather", [rows, reversed(kHW[1]!)], { axis: 3 });
}

/**
 * Strided input gradients (transposed convolutions) from inputs of at most this many pixels take the
 * product-then-gather form below; ORT's ConvTranspose runs one tiny product per image there.
 */
let col2imMaxPixels = 25;
/** Override the threshold above (benchmarks compare forms; 0 = always ConvTranspose); no argument restores it. */
export function setCol2imMaxPixels(n = 25): void {
  col2imMaxPixels = n;
}

/**
 * gx = convBackInput(gy, w) as one matrix product and a col2im by Gather: the rows of
 * gy (channels last, [n·ho·wo, O]) times w (as [O, kh·kw·C]) give each input pixel's contribution
 * to every tap, [n·ho·wo·kh·kw, C]; each output pixel gathers its (at most T) contributions, zero
 * rows padding, and sums them: [n·H·W, T, C] → [n·H·W, C] → NCHW.
 */
function backInputByCol2im(e: Emitter, t: Tensor, gy: string, w: string): string {
  const g = geometryOf(t);
  const [gys, wt] = t.inputs as [Tensor, Tensor];
  const [o, c] = wt.shape as [number, number];
  const n = gys.shape[0]!;
  const [ho, wo] = convOutHW(g);
  const [kh, kw] = g.kHW;
  const [H, W] = g.inHW;
  const taps = kh * kw;
  const rows = e.node("Reshape", [e.node("Transpose", [gy], { perm: [0, 2, 3, 1] }), e.ints([n * ho * wo, o])]);
  const wm = e.node("Reshape", [
    // A frozen filter keeps the Transpose, which ORT folds into a constant when the session loads.
    weightGradTranspose === "matmul" && !e.constantIds.has(wt.id)
      ? swapLastTwo(e, w, o, c, taps)
      : e.node("Transpose", [w], { perm: [0, 2, 3, 1] }),
    e.ints([o, taps * c]),
  ]);
  const contrib = e.node("Reshape", [e.node("MatMul", [rows, wm]), e.ints([n * ho * wo * taps, c])]);
  const zero = e.init("float32", [1, c], new Float32Array(c), "z");
  const table = e.node("Concat", [contrib, zero], { axis: 0 });
  const zeroRow = n * ho * wo * taps;
  const mapH = backMap(g.stride[0], g.pads[0], g.dilation[0]),
    mapW = backMap(g.stride[1], g.pads[1], g.dilation[1]);
  // Contributions of each output pixel (y, x): taps (i, j) whose source (mapH(y, i), mapW(x, j)) is inside gy.
  const lists: number[][] = [];
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const l: number[] = [];
      for (let i = 0; i < kh; i++) {
        const sy = mapH(y, i);
        if (sy < 0 || sy >= ho) continue;
        for (let j = 0; j < kw; j++) {
          const sx = mapW(x, j);
          if (sx >= 0 && sx < wo) l.push((sy * wo + sx) * taps + i * kw + j);
        }
      }
      lists.push(l);
    }
  const T = Math.max(1, ...lists.map((l) => l.length));
  const at = (b: number, l: number[], k: number) => BigInt(k < l.length ? b * ho * wo * taps + l[k]! : zeroRow);
  if (col2imSum === "slots" || (col2imSum === "auto" && H * W > 25)) {
    // slot k of every output pixel (its k-th contribution, or the zero row) by one Gather; one Sum adds the T slots
    const slots = Array.from({ length: T }, (_, k) => {
      const idx = new BigInt64Array(n * H * W);
      let q = 0;
      for (let b = 0; b < n; b++) for (const l of lists) idx[q++] = at(b, l, k);
      return e.node("Gather", [table, e.init("int64", [idx.length], idx, "col2im")], { axis: 0 });
    });
    return nchwFromRows(e, slots.length === 1 ? slots[0]! : e.node("Sum", slots), n, H, W, c);
  }
  const idx = new BigInt64Array(n * H * W * T);
  let q = 0;
  for (let b = 0; b < n; b++) for (const l of lists) for (let k = 0; k < T; k++) idx[q++] = at(b, l, k);
  const gathered = e.node("Gather", [table, e.init("int64", [idx.length], idx, "col2im")], { axis: 0 });
  const summed = e.node("ReduceSum", [e.node("Reshape", [gathered, e.ints([n * H * W, T, c])]), e.ints([1])], {
    keepdims: 0,
  });
  return nchwFromRows(e, summed, n, H, W, c);
}

/**
 * How backInputByCol2im adds each output pixel's T contributions: "slots" (T Gathers of one row per
 * pixel, then one variadic Sum), "reduce" (one Gather of T rows per pixel, then a ReduceSum over T),
 * or "auto" (the default): slots for outputs of more than 25 pixels (ScoreNet's tconv3 forward, 12×12:
 * fastest tenth 0.66–0.87× of reduce), reduce for smaller ones (tconv4's 5×5: slots 1.04–1.28×).
 */
export type Col2imSum = "slots" | "reduce" | "auto";
let col2imSum: Col2imSum = "auto";
/** Override the choice above (benchmarks compare them); no argument restores the default. */
export function setCol2imSum(s: Col2imSum = "auto"): void {
  col2imSum = s;
}

/**
 * Float32 weight gradients whose input x has at most this many patch rows (C·kh·kw) take the
 * channels-first form of backWeightByOneHotConv (ScoreNet's 1-channel conv1 and tconv1); 0 = never.
 */
let oneHotPatchMaxRows = 18;
/** Override the threshold above (benchmarks compare forms); no argument restores the default. */
export function setOneHotPatchMaxRows(n = 18): void {
  oneHotPatchMaxRows = n;
}

/**
 * gw = convBackWeight(x, gy) for an x of few channels, with no layout change of the activations: a
 * Conv of x with the one-hot filter bank [C·taps, C, kh, kw] materializes the patches NCHW
 * ([n, C·taps, ho·wo]; stride, padding and dilation by the Conv itself), each image's gy [O, ho·wo]
 * times its patchesᵀ gives [n, O, C·taps] (FusedMatMul, transB), and the sum over images is gw.
 */
function backWeightByOneHotConv(e: Emitter, t: Tensor, x: string, gy: string): string {
  const g = geometryOf(t);
  const [xs, gys] = t.inputs as [Tensor, Tensor];
  const [n, c] = xs.shape as [number, number];
  const o = gys.shape[1]!;
  const [ho, wo] = convOutHW(g);
  const [kh, kw] = g.kHW;
  const rows = c * kh * kw;
  const eye = new Float32Array(rows * rows); // filter (ch, i, j) picks channel ch at tap (i, j)
  for (let r = 0; r < rows; r++) eye[r * rows + r] = 1;
  const patches = e.node("Conv", [x, e.init("float32", [rows, c, kh, kw], eye, "onehot")], convAttrs(g));
  const [prod] = e.nodeOuts(
    "FusedMatMul",
    [e.node("Reshape", [gy, e.ints([n, o, ho * wo])]), e.node("Reshape", [patches, e.ints([n, rows, ho * wo])])],
    { transB: 1 },
    [e.fresh("FusedMatMul")],
    "com.microsoft",
  );
  const dw = e.node("ReduceSum", [prod!, e.ints([0])], { keepdims: 0 });
  return e.node("Reshape", [dw, e.ints([o, c, kh, kw])]);
}

/** Whether lowerBackWeight builds x's Gather patch matrix (and not the one-hot patch Conv of few channels). */
const weightGradBuildsPatches = (t: Tensor) =>
  t.dtype !== "float32" || t.inputs[0]!.shape[1]! * geometryOf(t).kHW[0] * geometryOf(t).kHW[1] > oneHotPatchMaxRows;

function lowerBackWeight(e: Emitter, t: Tensor, ins: string[]): string {
  const g = geometryOf(t);
  const [x, gy] = ins as [string, string];
  const [xs, gys] = t.inputs as [Tensor, Tensor];
  const [n, c] = xs.shape as [number, number];
  const o = gys.shape[1]!;
  const [ho, wo] = convOutHW(g);
  const [kh, kw] = g.kHW;
  if (!weightGradBuildsPatches(t)) return backWeightByOneHotConv(e, t, x, gy);
  const cols = convPatches(e, x, t.dtype, n, c, g.inHW, [ho, wo], g, forwardMap);
  let dw: string; // [O, kh·kw·C]
  if (weightGradRows === "channels-first") {
    // gy [N, O, Ho, Wo] → [O, N·Ho·Wo]: whole Ho·Wo runs move, no per-element transpose
    const gt = e.node("Reshape", [e.node("Transpose", [gy], { perm: [1, 0, 2, 3] }), e.ints([o, n * ho * wo])]);
    dw = e.node("MatMul", [gt, cols]);
  } else {
    const gm = e.node("Reshape", [e.node("Transpose", [gy], { perm: [0, 2, 3, 1] }), e.ints([n * ho * wo, o])]);
    dw = e.node("Gemm", [gm, cols], { transA: 1 });
  }
  if (t.dtype === "float32" && weightGradTranspose === "matmul")
    return e.node("Reshape", [swapLastTwo(e, dw, o, kh * kw, c), e.ints([o, c, kh, kw])]);
  return e.node("Transpose", [e.node("Reshape", [dw, e.ints([o, kh, kw, c])])], { perm: [0, 3, 1, 2] });
}

/**
 * How the output gradient enters a weight gradient's product with the patch matrix: "channels-last"
 * (gy transposed to rows [N·Ho·Wo, O], then a Gemm with transA) or "channels-first" (gy as [O, N·Ho·Wo]
 * by moving the batch axis, whole Ho·Wo runs at a time, then a plain MatMul).
 */
export type WeightGradRows = "channels-last" | "channels-first";
let weightGradRows: WeightGradRows = "channels-first";
/** Override the choice above (benchmarks compare them); no argument restores the default. */
export function setWeightGradRows(r: WeightGradRows = "channels-first"): void {
  weightGradRows = r;
}

/**
 * x viewed as [b, rows, cols] → [b, cols, rows] (float32) as a batched product with an identity on the
 * smaller side (ORT's contrib FusedMatMul: Xᵀ·I with transA, or I·Xᵀ with transB; b·rows·cols·min
 * multiply-adds). ORT's Transpose of filter-sized tensors whose inner axis is a 3×3 tap block runs
 * element by element on one thread; its matrix product does not.
 */
function swapLastTwo(e: Emitter, x: string, b: number, rows: number, cols: number): string {
  const k = Math.min(rows, cols);
  const eye = new Float32Array(k * k);
  for (let i = 0; i < k; i++) eye[i * k + i] = 1;
  const id = e.init("float32", [k, k], eye, "eye");
  const xr = e.node("Reshape", [x, e.ints([b, rows, cols])]);
  const [out] = e.nodeOuts(
    "FusedMatMul",
    rows <= cols ? [xr, id] : [id, xr],
    rows <= cols ? { transA: 1 } : { transB: 1 },
    [e.fresh("FusedMatMul")],
    "com.microsoft",
  );
  return out!;
}

/**
 * How float32 filter-sized tensors swap their channel and tap axes — a weight gradient from the
 * im2col order [O, kh, kw, C] to [O, C, kh, kw], and a filter [O, C, kh, kw] to [O, kh, kw, C] for the
 * col2im product: "matmul" (swapLastTwo, a batched product with an identity) or "transpose".
 */
export type WeightGradTranspose = "matmul" | "transpose";
let weightGradTranspose: WeightGradTranspose = "matmul";
/** Override the weight-gradient re-layout (benchmarks compare them); no argument restores the default. */
export function setWeightGradTranspose(w: WeightGradTranspose = "matmul"): void {
  weightGradTranspose = w;
}

// ---------------------------------------------------------------- model

export interface ProgramSpec {
  /** Feeds, in order; each an `input` node. */
  inputs: readonly Tensor[];
  /** Named outputs. */
  outputs: Readonly<Record<string, Tensor>>;
  /**
   * Values frozen into the program, by input name: those inputs become ONNX initializers and are
   * no longer fed. Weights that stay fixed over many runs (a sampler's network) let ORT fold and
   * re-layout them once (e.g. its blocked NCHWc convolutions need constant filters).
   */
  constants?: Readonly<Record<string, HostArray>>;
}

function valueInfo(name: string, t: Tensor) {
  return onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType: ELEM[t.dtype], shape: { dim: t.shape.map((d) => ({ dimValue: d })) } } },
  });
}

/** Serialize a traced program to ONNX ModelProto bytes. */
export function toOnnx(spec: ProgramSpec): Uint8Array {
  const e = new Emitter();
  const names = new Map<number, string>();
  const constants = spec.constants ?? {};
  for (const inp of spec.inputs) {
    if (inp.op !== "input") throw new TraceError("compile", `program input ${inp} is not an input() node`);
    const name = inp.attrs.name as string;
    names.set(inp.id, name);
    const value = constants[name];
    if (value === undefined) continue;
    if (value.length !== inp.size)
      throw new TraceError(
        "compile",
        `constant '${name}' has ${value.length} values, expected ${inp.size} for shape [${inp.shape.join(", ")}]`,
      );
    e.inits.push(tensorProto(name, inp.dtype, inp.shape, value));
    e.constantIds.add(inp.id);
  }
  for (const name of Object.keys(constants))
    if (!spec.inputs.some((t) => t.attrs.name === name))
      throw new TraceError("compile", `constant '${name}' is not among the program inputs`);
  const fed = spec.inputs.filter((t) => constants[t.attrs.name as string] === undefined);
  const outs = Object.values(spec.outputs);
  const order = topoSort(outs);
  for (const t of order) if (t.op === "groupInvStd") e.invStdOf.add(t.inputs[0]!.id);
  for (const id of concatsToAbsorb(order, new Set(outs.map((t) => t.id)), e)) e.absorbedConcats.add(id);
  for (const t of order)
    if (t.op === "convBackWeight" && t.dtype === "float32" && weightGradBuildsPatches(t))
      e.weightGradPatches.add(patchKey(t.inputs[0]!, geometryOf(t)));
  for (const t of order) {
    if (names.has(t.id)) continue;
    if (t.op === "input")
      throw new TraceError("compile", `input '${t.attrs.name}' is used but not listed among the program inputs`);
    names.set(
      t.id,
      lowerNode(
        e,
        t,
        t.inputs.map((i) => names.get(i.id)!),
      ),
    );
  }
  // Each graph output gets an Identity so an output can also be an input or repeat another output.
  // (Renaming the producing node instead measured no faster in an interleaved A/B, issue 12.)
  const outputs = Object.entries(spec.outputs).map(([name, t]) => {
    e.node("Identity", [names.get(t.id)!], {}, name);
    return valueInfo(name, t);
  });
  const graph = onnx.GraphProto.create({
    name: "scoregen",
    node: e.nodes,
    initializer: e.inits,
    input: fed.map((t) => valueInfo(t.attrs.name as string, t)),
    output: outputs,
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "scoregen",
    opsetImport: [{ domain: "", version: OPSET }, ...[...e.domains].map((domain) => ({ domain, version: 1 }))],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}
