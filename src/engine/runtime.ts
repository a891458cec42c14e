/**
 * Compiled programs. A Backend turns ONNX bytes into sessions (onnxruntime-node here; the same
 * graphs run on onnxruntime-web through another Backend). `compile` lowers a traced program once
 * and caches the session by the model bytes, so re-tracing the same graph with the same shapes is
 * cheap. A Program runs with host arrays and returns host arrays.
 */
import { type ProgramSpec, toOnnx } from "./lower.ts";
import { type DType, type HostArray, type Shape, type Tensor, fmtShape, sizeOf, topoSort } from "./tensor.ts";

/** Output of a run: host arrays with their shapes. */
export type RunResult = Record<string, HostArray>;

export interface BackendSession {
  /**
   * Runs the program. `into` names outputs to be written into these preallocated host arrays (of
   * the outputs' sizes and types) where the backend can (`writesInPlace`); the result then holds
   * those very arrays. Elsewhere `into` is ignored and fresh arrays come back.
   */
  run(
    feeds: Record<string, { dtype: DType; shape: Shape; data: HostArray }>,
    outputNames: readonly string[],
    into?: Readonly<Record<string, { dtype: DType; shape: Shape; data: HostArray }>>,
  ): Promise<RunResult>;
  /** Whether `into` outputs are written in place (onnxruntime-node's CPU provider). */
  readonly writesInPlace?: boolean;
  release?(): Promise<void>;
}

/** The part of an onnxruntime InferenceSession (onnxruntime-node or onnxruntime-web) a backend wraps. */
export interface OrtSessionLike<T> {
  run(
    feeds: Record<string, T>,
    fetches: string[] | Record<string, T | null>,
  ): Promise<Record<string, { data: unknown }>>;
  release(): Promise<void>;
}

/**
 * A BackendSession over an onnxruntime session: feeds become that package's tensors (built by
 * `tensor`), the named outputs come back as host arrays. Shared by the Node and web backends.
 * With `writesInPlace` (onnxruntime-node's CPU provider, which writes preallocated output tensors
 * in place) the `into` outputs are fetched into the caller's arrays: a training step's gradients
 * then reuse one set of buffers instead of megabytes of fresh arrays per step.
 */
export function ortBackendSession<T>(
  s: OrtSessionLike<T>,
  tensor: (v: { dtype: DType; shape: Shape; data: HostArray }) => T,
  writesInPlace = false,
): BackendSession {
  return {
    writesInPlace,
    async run(feeds, outputNames, into): Promise<RunResult> {
      const f: Record<string, T> = {};
      for (const [k, v] of Object.entries(feeds)) f[k] = tensor(v);
      const pre = writesInPlace && into ? into : undefined;
      let fetches: string[] | Record<string, T | null> = outputNames as string[];
      if (pre) fetches = Object.fromEntries(outputNames.map((n) => [n, pre[n] ? tensor(pre[n]) : null]));
      const out = await s.run(f, fetches);
      const r: RunResult = {};
      for (const name of outputNames) r[name] = pre?.[name]?.data ?? (out[name]!.data as HostArray);
      return r;
    },
    release: () => s.release(),
  };
}

export interface SessionHints {
  /**
   * The program computes in float64: ORT's extended fusions (e.g. QuickGelu for x·σ(x)) have
   * float32-only kernels, so such programs are optimized at the basic level only.
   */
  float64?: boolean;
}

export interface Backend {
  readonly name: string;
  createSession(model: Uint8Array, hints?: SessionHints): Promise<BackendSession>;
}

let defaultBackend: Backend | undefined;
/** Select the backend used by `compile` (the node entry installs onnxruntime-node). */
export function setBackend(b: Backend): void {
  defaultBackend = b;
}
export function getBackend(): Backend {
  if (!defaultBackend)
    throw new Error(
      "scoregen: no runtime backend set; import 'scoregen/node' (or call setBackend) before compiling programs",
    );
  return defaultBackend;
}

const HOST_CTOR: Record<DType, (n: number) => HostArray> = {
  float32: (n) => new Float32Array(n),
  float64: (n) => new Float64Array(n),
  int64: (n) => new BigInt64Array(n),
  bool: (n) => new Uint8Array(n),
};

/** A compiled program: named inputs with fixed shapes, named outputs. */
export class Program {
  constructor(
    private readonly session: BackendSession,
    readonly inputs: readonly { name: string; shape: Shape; dtype: DType }[],
    readonly outputs: readonly { name: string; shape: Shape; dtype: DType }[],
    readonly modelBytes: Uint8Array,
  ) {}

  /**
   * Run with one host array per input name (lengths checked); returns every output. Outputs named in
   * `into` are written into those arrays where the backend writes in place (onnxruntime-node), and
   * the result holds them; elsewhere fresh arrays come back.
   */
  async run(
    feeds: Record<string, HostArray | ArrayLike<number>>,
    into?: Readonly<Record<string, HostArray>>,
  ): Promise<RunResult> {
    const f: Record<string, { dtype: DType; shape: Shape; data: HostArray }> = {};
    for (const i of this.inputs) {
      const v = feeds[i.name];
      if (v === undefined) throw new Error(`Program.run: missing input '${i.name}' (shape ${fmtShape(i.shape)})`);
      const n = sizeOf(i.shape);
      if (v.length !== n)
        throw new Error(
          `Program.run: input '${i.name}' has ${v.length} values, expected ${n} for shape ${fmtShape(i.shape)}`,
        );
      f[i.name] = { dtype: i.dtype, shape: i.shape, data: toHost(v, i.dtype) };
    }
    let pre: Record<string, { dtype: DType; shape: Shape; data: HostArray }> | undefined;
    if (into && this.session.writesInPlace) {
      pre = {};
      for (const o of this.outputs) {
        const buf = into[o.name];
        if (!buf) continue;
        if (buf.length !== sizeOf(o.shape) || buf.constructor !== HOST_CTOR[o.dtype](0).constructor)
          throw new Error(
            `Program.run: the array for output '${o.name}' must be a ${o.dtype} array of ${sizeOf(o.shape)} values`,
          );
        pre[o.name] = { dtype: o.dtype, shape: o.shape, data: buf };
      }
    }
    return this.session.run(
      f,
      this.outputs.map((o) => o.name),
      pre,
    );
  }
}

function toHost(v: HostArray | ArrayLike<number>, dtype: DType): HostArray {
  if (dtype === "float32" && v instanceof Float32Array) return v;
  if (dtype === "float64" && v instanceof Float64Array) return v;
  if (dtype === "int64" && v instanceof BigInt64Array) return v;
  if (dtype === "bool" && v instanceof Uint8Array) return v;
  // Typed arrays of numbers convert in one native copy (same rounding as element by element).
  if ((dtype === "float32" || dtype === "float64") && ArrayBuffer.isView(v) && !(v instanceof BigInt64Array))
    return dtype === "float32" ? new Float32Array(v as ArrayLike<number>) : new Float64Array(v as ArrayLike<number>);
  const out = HOST_CTOR[dtype](v.length);
  if (out instanceof BigInt64Array)
    for (let i = 0; i < v.length; i++) out[i] = BigInt(Number((v as ArrayLike<number>)[i]));
  else for (let i = 0; i < v.length; i++) out[i] = Number((v as ArrayLike<number>)[i]);
  return out;
}

const cache = new Map<string, Promise<BackendSession>>();

/** Two independent FNV-1a lanes over the bytes (portable; no node:crypto in browsers). */
function hashBytes(b: Uint8Array): string {
  let h1 = 0x811c9dc5,
    h2 = 0x01000193 ^ b.length;
  for (let i = 0; i < b.length; i++) {
    h1 = Math.imul(h1 ^ b[i]!, 0x01000193);
    h2 = Math.imul(h2 ^ b[i]!, 0x5bd1e995) ^ (h2 >>> 15);
  }
  return (h1 >>> 0).toString(16) + (h2 >>> 0).toString(16);
}

/** Lower, compile (cached by model bytes) and wrap a traced program. */
export async function compile(spec: ProgramSpec, backend: Backend = getBackend()): Promise<Program> {
  const bytes = toOnnx(spec);
  const key = `${backend.name}:${bytes.length}:${hashBytes(bytes)}`;
  let s = cache.get(key);
  if (!s) {
    const float64 = topoSort(Object.values(spec.outputs)).some((t) => t.dtype === "float64");
    s = backend.createSession(bytes, { float64 });
    cache.set(key, s);
  }
  s.catch(() => cache.delete(key));
  const info = (name: string, t: Tensor) => ({ name, shape: t.shape, dtype: t.dtype });
  const fed = spec.inputs.filter((t) => spec.constants?.[t.attrs.name as string] === undefined);
  return new Program(
    await s,
    fed.map((t) => info(t.attrs.name as string, t)),
    Object.entries(spec.outputs).map(([n, t]) => info(n, t)),
    bytes,
  );
}

/** Drop all cached sessions (tests, or to free memory after a phase). */
export function clearProgramCache(): void {
  cache.clear();
}
