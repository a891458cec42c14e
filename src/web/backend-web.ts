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
 * WebGPU is not offered: onnxruntime-web's default build computes `Slice` with step −1 wrongly
 * (the engine flips conv kernels with it in the stride-1 input gradient), and the separate
 * `onnxruntime-web/webgpu` build has no float64 kernels; without a GPU, headless Chromium only
 * has a software adapter (~100× slower than WASM). `webgpuUnavailable()` gives the reason.
 */
import * as ort from "onnxruntime-web/wasm";
import { type Backend, type BackendSession, type SessionHints, ortBackendSession } from "../engine/runtime.ts";

export interface WebBackendOptions {
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
  const threads = opts.threads ?? defaultWebThreads();
  if (!Number.isInteger(threads) || threads < 1)
    throw new Error(`webBackend: threads must be a positive integer, got ${threads}`);
  if (threads > 1 && !isCrossOriginIsolated())
    throw new Error(
      `webBackend: ${threads} threads need a cross-origin-isolated page (serve it with COOP same-origin and COEP require-corp); use threads: 1`,
    );
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

/** Why the WebGPU execution provider is not used (one line, for the page). */
export function webgpuUnavailable(): string {
  const hasGpu = typeof (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu !== "undefined";
  return (
    (hasGpu ? "WebGPU is available in this browser, but " : "WebGPU is unavailable in this browser, and ") +
    "scoregen runs on WebAssembly: onnxruntime-web's WebGPU kernels lack float64 and mis-compute the reversed Slice used for conv gradients"
  );
}
