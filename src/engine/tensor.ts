/**
 * Symbolic tensors: the nodes of a traced program. A node records its op, inputs, static shape
 * and dtype; shapes are inferred when the node is made, so a mismatch throws at trace time with
 * the op's name and both shapes. Nodes are immutable and form a DAG; a program is a set of
 * output nodes over `input` nodes. Autodiff (autodiff.ts) adds nodes to the same DAG, so a
 * gradient is itself a differentiable program.
 */

export type DType = "float32" | "float64" | "int64" | "bool";
export type Shape = readonly number[];
export type HostArray = Float32Array | Float64Array | BigInt64Array | Uint8Array;

let nextId = 0;

export class Tensor {
  /** Creation order; a node's inputs always have smaller ids (a topological order for free). */
  readonly id = nextId++;
  constructor(
    readonly op: string,
    readonly inputs: readonly Tensor[],
    readonly shape: Shape,
    readonly dtype: DType,
    readonly attrs: Readonly<Record<string, unknown>> = {},
  ) {}

  get rank(): number {
    return this.shape.length;
  }
  get size(): number {
    return sizeOf(this.shape);
  }
  toString(): string {
    return `${this.op}#${this.id}[${this.shape.join(",")}]:${this.dtype}`;
  }
}

export type TensorLike = Tensor | number;

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function fmtShape(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

/** Error raised while tracing: names the op and the offending shapes or values. */
export class TraceError extends Error {
  constructor(op: string, message: string) {
    super(`${op}: ${message}`);
    this.name = "TraceError";
  }
}

export function isFloat(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64";
}

/** A program input with a fixed shape; `name` is the feed name at run time. */
export function input(name: string, shape: Shape, dtype: DType = "float32"): Tensor {
  for (const d of shape)
    if (!Number.isInteger(d) || d < 0) throw new TraceError("input", `'${name}' has invalid shape ${fmtShape(shape)}`);
  return new Tensor("input", [], [...shape], dtype, { name });
}

function arrayFor(dtype: DType, n: number): HostArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(n);
    case "float64":
      return new Float64Array(n);
    case "int64":
      return new BigInt64Array(n);
    case "bool":
      return new Uint8Array(n);
  }
}

/** A constant embedded in the program (an ONNX initializer). */
export function constant(
  values: ArrayLike<number> | HostArray | number,
  shape: Shape = typeof values === "number" ? [] : [(values as ArrayLike<number>).length],
  dtype: DType = "float32",
): Tensor {
  const n = sizeOf(shape);
  const data = arrayFor(dtype, n);
  if (typeof values === "number") {
    if (n !== 1) throw new TraceError("constant", `a scalar needs shape [] or [1], got ${fmtShape(shape)}`);
    setAt(data, 0, values);
  } else {
    if (values.length !== n)
      throw new TraceError("constant", `${values.length} values do not fill shape ${fmtShape(shape)}`);
    if (data instanceof BigInt64Array) for (let i = 0; i < n; i++) data[i] = BigInt(values[i] as number | bigint);
    else for (let i = 0; i < n; i++) (data as Float64Array)[i] = Number(values[i]);
  }
  return new Tensor("const", [], [...shape], dtype, { value: data });
}

function setAt(a: HostArray, i: number, v: number): void {
  if (a instanceof BigInt64Array) a[i] = BigInt(v);
  else a[i] = v;
}

/** Scalar constant with the dtype of `like`. */
export function scalar(v: number, dtype: DType): Tensor {
  return constant(v, [], dtype);
}

/** The value of a constant node if `t` is a scalar constant, else undefined (for folding). */
export function constScalar(t: Tensor): number | undefined {
  if (t.op !== "const" || t.size !== 1) return undefined;
  const v = (t.attrs.value as HostArray)[0];
  return typeof v === "bigint" ? Number(v) : v;
}

export function lift(x: TensorLike, dtype: DType): Tensor {
  return typeof x === "number" ? scalar(x, dtype) : x;
}

/** Numpy broadcasting of two shapes; throws naming the op and both shapes. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1,
      db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1)
      throw new TraceError(op, `shapes ${fmtShape(a)} and ${fmtShape(b)} do not broadcast`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

export function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank)
    throw new TraceError(op, `axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** All nodes reachable from `outputs`, in topological (creation) order. */
export function topoSort(outputs: readonly Tensor[]): Tensor[] {
  const seen = new Map<number, Tensor>();
  const stack = [...outputs];
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t.id)) continue;
    seen.set(t.id, t);
    for (const i of t.inputs) if (!seen.has(i.id)) stack.push(i);
  }
  return [...seen.values()].sort((a, b) => a.id - b.id);
}
