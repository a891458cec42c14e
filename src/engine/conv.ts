/**
 * 2-D convolutions (NCHW, groups = 1) as three ops that are closed under differentiation.
 * A geometry fixes one convolution y = conv(x, w), x [N,C,H,W], w [O,C,kh,kw] → y [N,O,Ho,Wo]:
 *
 *   conv(x, w)              → y   [N,O,Ho,Wo]
 *   convBackInput(gy, w)    → gx  [N,C,H,W]    (= ConvTranspose; also the forward of convTranspose2d)
 *   convBackWeight(x, gy)   → gw  [O,C,kh,kw]
 *
 * Each op's VJP is another of the three, so second derivatives (score-matching losses that
 * contain a VJP) come for free. How each op becomes ONNX is decided in lower.ts.
 */
import { defineVjp } from "./registry.ts";
import { type Shape, Tensor, TraceError, fmtShape } from "./tensor.ts";

export interface ConvGeometry {
  /** Spatial size of the convolution's input x. */
  readonly inHW: readonly [number, number];
  readonly kHW: readonly [number, number];
  readonly stride: readonly [number, number];
  /** [top, left, bottom, right] zero padding of x. */
  readonly pads: readonly [number, number, number, number];
  readonly dilation: readonly [number, number];
}

/** Output spatial size of the convolution (Ho, Wo). */
export function convOutHW(g: ConvGeometry): [number, number] {
  const o = (i: 0 | 1) =>
    Math.floor((g.inHW[i] + g.pads[i]! + g.pads[i + 2]! - g.dilation[i] * (g.kHW[i] - 1) - 1) / g.stride[i]) + 1;
  return [o(0), o(1)];
}

export type Pair = number | readonly [number, number];
const pair = (v: Pair): [number, number] => (typeof v === "number" ? [v, v] : [v[0], v[1]]);
function fourPads(p: number | readonly number[]): [number, number, number, number] {
  if (typeof p === "number") return [p, p, p, p];
  if (p.length === 2) return [p[0]!, p[1]!, p[0]!, p[1]!];
  if (p.length === 4) return [p[0]!, p[1]!, p[2]!, p[3]!];
  throw new TraceError("conv2d", `padding must be a number, [ph, pw] or [top, left, bottom, right], got [${p}]`);
}

function check4(op: string, name: string, t: Tensor): void {
  if (t.rank !== 4) throw new TraceError(op, `${name} must be 4-D (NCHW), got ${fmtShape(t.shape)}`);
}

function geomKey(g: ConvGeometry): Record<string, unknown> {
  return { geom: g };
}

/** y = conv(x, w): x [N,C,H,W], w [O,C,kh,kw]. */
export function conv2d(
  x: Tensor,
  w: Tensor,
  opts: { stride?: Pair; padding?: number | readonly number[]; dilation?: Pair } = {},
): Tensor {
  check4("conv2d", "input", x);
  check4("conv2d", "weight", w);
  if (x.shape[1] !== w.shape[1])
    throw new TraceError(
      "conv2d",
      `input ${fmtShape(x.shape)} has ${x.shape[1]} channels but weight ${fmtShape(w.shape)} expects ${w.shape[1]}`,
    );
  const g: ConvGeometry = {
    inHW: [x.shape[2]!, x.shape[3]!],
    kHW: [w.shape[2]!, w.shape[3]!],
    stride: pair(opts.stride ?? 1),
    pads: fourPads(opts.padding ?? 0),
    dilation: pair(opts.dilation ?? 1),
  };
  return convOp(x, w, g);
}

function convOp(x: Tensor, w: Tensor, g: ConvGeometry): Tensor {
  const [ho, wo] = convOutHW(g);
  if (ho < 1 || wo < 1)
    throw new TraceError(
      "conv2d",
      `kernel ${fmtShape(g.kHW)} does not fit input ${fmtShape(x.shape)} with padding [${g.pads}]`,
    );
  return new Tensor("conv", [x, w], [x.shape[0]!, w.shape[0]!, ho, wo], x.dtype, geomKey(g));
}

/**
 * Transposed convolution: x [N,Cin,Hin,Win], w [Cin,Cout,kh,kw] (PyTorch layout) → [N,Cout,H,W]
 * with H = s(Hin−1) + outputPadding + d(kh−1) + 1 − padTop − padBottom.
 */
export function convTranspose2d(
  x: Tensor,
  w: Tensor,
  opts: { stride?: Pair; padding?: number | readonly number[]; outputPadding?: Pair; dilation?: Pair } = {},
): Tensor {
  check4("convTranspose2d", "input", x);
  check4("convTranspose2d", "weight", w);
  if (x.shape[1] !== w.shape[0])
    throw new TraceError(
      "convTranspose2d",
      `input ${fmtShape(x.shape)} has ${x.shape[1]} channels but weight ${fmtShape(w.shape)} expects ${w.shape[0]}`,
    );
  const s = pair(opts.stride ?? 1),
    d = pair(opts.dilation ?? 1),
    op = pair(opts.outputPadding ?? 0),
    p = fourPads(opts.padding ?? 0);
  if (op[0] >= Math.max(s[0], d[0]) || op[1] >= Math.max(s[1], d[1]))
    throw new TraceError("convTranspose2d", `outputPadding [${op}] must be smaller than stride or dilation`);
  const hw = (i: 0 | 1) => s[i] * (x.shape[2 + i]! - 1) + op[i] + d[i] * (w.shape[2 + i]! - 1) + 1 - p[i]! - p[i + 2]!;
  const g: ConvGeometry = { inHW: [hw(0), hw(1)], kHW: [w.shape[2]!, w.shape[3]!], stride: s, pads: p, dilation: d };
  if (g.inHW[0] < 1 || g.inHW[1] < 1)
    throw new TraceError("convTranspose2d", `padding [${p}] leaves no output for input ${fmtShape(x.shape)}`);
  return convBackInput(x, w, g);
}

/** gx = Jᵀ gy for the input of conv(·, w) with geometry g: gy [N,O,Ho,Wo] → [N,C,H,W]. */
export function convBackInput(gy: Tensor, w: Tensor, g: ConvGeometry): Tensor {
  const [ho, wo] = convOutHW(g);
  if (gy.shape[2] !== ho || gy.shape[3] !== wo || gy.shape[1] !== w.shape[0])
    throw new TraceError(
      "convBackInput",
      `gradient ${fmtShape(gy.shape)} does not match weight ${fmtShape(w.shape)} and output size [${ho}, ${wo}]`,
    );
  return new Tensor("convBackInput", [gy, w], [gy.shape[0]!, w.shape[1]!, g.inHW[0], g.inHW[1]], gy.dtype, geomKey(g));
}

/** gw = Jᵀ gy for the weight of conv(x, ·) with geometry g: → [O,C,kh,kw]. */
export function convBackWeight(x: Tensor, gy: Tensor, g: ConvGeometry): Tensor {
  const [ho, wo] = convOutHW(g);
  if (gy.shape[2] !== ho || gy.shape[3] !== wo || gy.shape[0] !== x.shape[0])
    throw new TraceError(
      "convBackWeight",
      `gradient ${fmtShape(gy.shape)} does not match input ${fmtShape(x.shape)} (output size [${ho}, ${wo}])`,
    );
  return new Tensor("convBackWeight", [x, gy], [gy.shape[1]!, x.shape[1]!, g.kHW[0], g.kHW[1]], x.dtype, geomKey(g));
}

export const geometryOf = (t: Tensor): ConvGeometry => t.attrs.geom as ConvGeometry;
export const weightShape = (t: Tensor): Shape => t.shape;

defineVjp("conv", (n, g, need) => {
  const [x, w] = n.inputs as [Tensor, Tensor];
  const geo = geometryOf(n);
  return [need[0] ? convBackInput(g, w, geo) : undefined, need[1] ? convBackWeight(x, g, geo) : undefined];
});
defineVjp("convBackInput", (n, c, need) => {
  const [gy, w] = n.inputs as [Tensor, Tensor];
  const geo = geometryOf(n);
  return [need[0] ? convOp(c, w, geo) : undefined, need[1] ? convBackWeight(c, gy, geo) : undefined];
});
defineVjp("convBackWeight", (n, c, need) => {
  const [x, gy] = n.inputs as [Tensor, Tensor];
  const geo = geometryOf(n);
  return [need[0] ? convBackInput(gy, c, geo) : undefined, need[1] ? convOp(x, c, geo) : undefined];
});
