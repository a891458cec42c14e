/**
 * onnxruntime-web backend (WebAssembly execution provider) behind the same `Backend` interface as
 * the onnxruntime-node one: every program the engine emits (float32 and float64) runs on it and
 * matches onnxruntime-node to ~5e-6 (f32) / ~4e-15 (f64).
 *
 * Threads: ORT's WASM build runs multi-threaded only in a cross-origin-isolated page (COOP
 * `same-origin` + COEP `require-corp`/`credentialless`, so SharedArrayBuffer exists); otherwise
 * it runs on one thread. ORT starts its thread workers from `ort-wasm-simd-threaded.mjs`: serve that
 * file and its `.wasm` next to the app and pass their folder as `wasmPaths` (a bundled app would
 * otherwise re-run its own bundle in every thread worker).
 *
 * WebGPU (opt-in, `device: "webgpu"`): float32 programs run on onnxruntime-web's WebGPU execution
 * provider (the `onnxruntime-web/webgpu` build, loaded only when asked for; it runs
 * ort-wasm-simd-threaded.asyncify.mjs/.wasm, served like the plain runtime); float64 programs
 * (exact likelihoods) stay on that build's WASM provider, since WebGPU has no float64 kernels. The
 * engine emits no step −1 Slice (which ORT's WebGPU kernel computes wrongly): kernel flips are
 * Gathers. `webgpuStatus()` says whether this browser has an adapter; `checkWebGpu()` compares a
 * ScoreNet forward + VJP on WebGPU with WASM before a page relies on it.
 */
import * as ort from "onnxruntime-web/wasm";
import { type Backend, type BackendSession, type SessionHints, compile, ortBackendSession } from "../engine/runtime.ts";

/** Where float32 programs run: WebAssembly (default) or WebGPU (float64 programs always on WASM). */
export type WebDevice = "wasm" | "webgpu";

export interface WebBackendOptions {
  /** "wasm" (default) or "webgpu" (float32 programs on the GPU; check `webgpuStatus()` first). */
  device?: WebDevice;
  /** WASM threads (default: min(hardwareConcurrency, 8) when cross-origin isolated, else 1). */
  threads?: number;
  /** URL prefix (ending in "/") where ort-wasm-simd-threaded.mjs and .wasm are served. */
  wasmPaths?: string;
}

/** True when the page (or worker) may use SharedArrayBuffer, i.e. multi-threaded WASM. */
export const isCrossOriginIsolated = (): boolean =>
  (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;

/** The thread count used when none is given. */
export function defaultWebThreads(): number {
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
  return isCrossOriginIsolated() ? Math.max(1, Math.min(cores, 8)) : 1;
}

let configured: { threads: number; wasmPaths?: string } | undefined;

/**
 * The onnxruntime-web (WASM) backend. ORT's WASM settings are global and fixed once the runtime has
 * started, so every webBackend in one page/worker must ask for the same thread count.
 */
export function webBackend(opts: WebBackendOptions = {}): Backend {
  if (opts.device !== undefined && opts.device !== "wasm" && opts.device !== "webgpu")
    throw new Error(`webBackend: device must be "wasm" or "webgpu", got "${opts.device}"`);
  if (opts.device === "webgpu") return gpuModuleBackend(checkedThreads(opts), opts.wasmPaths, "auto");
  const threads = checkedThreads(opts);
  if (configured && (configured.threads !== threads || configured.wasmPaths !== opts.wasmPaths)) {
    throw new Error(
      `webBackend: onnxruntime-web is already set up with ${configured.threads} thread(s); one page or worker uses one setting (reload to change it)`,
    );
  }
  if (!configured) {
    ort.env.wasm.numThreads = threads;
    if (opts.wasmPaths !== undefined) ort.env.wasm.wasmPaths = opts.wasmPaths;
    configured = { threads, wasmPaths: opts.wasmPaths };
  }
  const base: ort.InferenceSession.SessionOptions = {
    executionProviders: ["wasm"],
    graphOptimizationLevel: "all",
    executionMode: "sequential",
  };
  return {
    name: `ort-web/wasm/${threads}`,
    async createSession(model: Uint8Array, hints: SessionHints = {}): Promise<BackendSession> {
      const s = await ort.InferenceSession.create(
        model,
        hints.float64 ? { ...base, graphOptimizationLevel: "basic" } : base,
      );
      return ortBackendSession(s, (v) => new ort.Tensor(v.dtype, v.data as never, v.shape as number[]));
    },
  };
}

/** The thread count asked for, checked against what the page allows. */
function checkedThreads(opts: WebBackendOptions): number {
  const threads = opts.threads ?? defaultWebThreads();
  if (!Number.isInteger(threads) || threads < 1)
    throw new Error(`webBackend: threads must be a positive integer, got ${threads}`);
  if (threads > 1 && !isCrossOriginIsolated())
    throw new Error(
      `webBackend: ${threads} threads need a cross-origin-isolated page (serve it with COOP same-origin and COEP require-corp); use threads: 1`,
    );
  return threads;
}

type OrtModule = typeof import("onnxruntime-web/wasm");
let gpuModule: { ort: Promise<OrtModule>; threads: number; wasmPaths?: string } | undefined;

/** The `onnxruntime-web/webgpu` build, imported and set up once per page or worker. */
function loadGpuModule(threads: number, wasmPaths: string | undefined): Promise<OrtModule> {
  if (gpuModule && (gpuModule.threads !== threads || gpuModule.wasmPaths !== wasmPaths))
    throw new Error(
      `webBackend: onnxruntime-web (WebGPU build) is already set up with ${gpuModule.threads} thread(s); one page or worker uses one setting (reload to change it)`,
    );
  gpuModule ??= {
    threads,
    wasmPaths,
    ort: import("onnxruntime-web/webgpu").then((m: OrtModule) => {
      m.env.wasm.numThreads = threads;
      if (wasmPaths !== undefined) m.env.wasm.wasmPaths = wasmPaths;
      return m;
    }),
  };
  return gpuModule.ort;
}

/**
 * Sessions of the WebGPU build: `ep` "auto" puts float32 programs on WebGPU and float64 ones on
 * WASM; "wasm" or "webgpu" force one provider (the self-check compares the two).
 */
function gpuModuleBackend(threads: number, wasmPaths: string | undefined, ep: "auto" | "wasm" | "webgpu"): Backend {
  return {
    name: ep === "auto" ? `ort-web/webgpu+wasm/${threads}` : `ort-web/webgpu-build/${ep}/${threads}`,
    async createSession(model: Uint8Array, hints: SessionHints = {}): Promise<BackendSession> {
      const m = await loadGpuModule(threads, wasmPaths);
      const provider = ep === "auto" ? (hints.float64 ? "wasm" : "webgpu") : ep;
      if (provider === "webgpu" && hints.float64)
        throw new Error("WebGPU has no float64 kernels; run float64 programs on WASM");
      const s = await m.InferenceSession.create(model, {
        executionProviders: [provider],
        graphOptimizationLevel: hints.float64 ? "basic" : "all",
        executionMode: "sequential",
      });
      return ortBackendSession(s, (v) => new m.Tensor(v.dtype, v.data as never, v.shape as number[]));
    },
  };
}

type GpuNavigator = { gpu?: { requestAdapter(): Promise<unknown | null> } };

/**
 * Why WebGPU cannot be used here (one line for the page), or undefined when this browser offers
 * an adapter. Secure contexts only (https or localhost).
 */
export async function webgpuStatus(): Promise<string | undefined> {
  const gpu = (globalThis as { navigator?: GpuNavigator }).navigator?.gpu;
  if (!gpu)
    return "this browser offers no WebGPU (navigator.gpu is missing: it needs a recent Chrome, Edge or Safari and an https or localhost page)";
  const adapter = await gpu.requestAdapter().catch(() => null);
  if (!adapter) return "WebGPU has no adapter in this browser (no usable GPU, or WebGPU is turned off)";
  return undefined;
}

/**
 * Runs a small ScoreNet's forward pass and its VJP with respect to the input and the weights (the
 * programs sampling, likelihood and training use, kernel flips included) on WebGPU and on WASM with
 * the same seeded values; returns the largest difference over all outputs, each relative to
 * max(1, its largest |WASM value|). Measured: ~7e-4 on Chromium's software adapter (SwiftShader),
 * O(1) when a kernel is wrong (as the step −1 Slice was); a page should trust WebGPU below 1e-2.
 */
export async function checkWebGpu(opts: { threads?: number; wasmPaths?: string } = {}): Promise<number> {
  const threads = checkedThreads(opts);
  const { checkProgram } = await import("./webgpu-check.ts");
  const { spec, feeds } = checkProgram();
  // one after the other: ORT's runtime must finish starting before a second session is created
  const run = async (ep: "wasm" | "webgpu") =>
    (await compile(spec, gpuModuleBackend(threads, opts.wasmPaths, ep))).run(feeds);
  const cpu = await run("wasm"),
    gpu = await run("webgpu");
  let worst = 0;
  for (const [k, ref] of Object.entries(cpu)) {
    const got = gpu[k] as Float32Array;
    let scale = 0,
      diff = 0;
    (ref as Float32Array).forEach((v, i) => {
      scale = Math.max(scale, Math.abs(v));
      diff = Math.max(diff, Math.abs(got[i]! - v));
    });
    worst = Math.max(worst, diff / Math.max(scale, 1));
  }
  return worst;
}
