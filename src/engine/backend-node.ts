/**
 * onnxruntime-node backend: CPU execution provider by default, one intra-op thread per available
 * core unless told otherwise; CUDA when SCOREGEN_EP=cuda and the CUDA binaries were installed (see
 * README). Options are resolved when the first session is created, so a bad SCOREGEN_THREADS is
 * reported as an ordinary error by whatever compiles first, not at import.
 */
import { availableParallelism } from "node:os";
import ort from "onnxruntime-node";
import type { Backend, BackendSession, RunResult, SessionHints } from "./runtime.ts";

export interface NodeBackendOptions {
  /** Intra-op threads (default: SCOREGEN_THREADS, else `os.availableParallelism()`). */
  threads?: number;
  /** Execution providers in order of preference (default: SCOREGEN_EP or "cpu"). */
  providers?: string[];
}

/**
 * Intra-op thread count: the `threads` option if given, else the SCOREGEN_THREADS environment
 * variable if set, else every available core. Each must be a positive integer; otherwise one error
 * names the setting and the fix.
 */
export function resolveThreads(option: number | undefined, env: string | undefined, available: number): number {
  if (option !== undefined) {
    if (!Number.isSafeInteger(option) || option < 1)
      throw new Error(`nodeBackend: threads must be a positive integer, got ${option}`);
    return option;
  }
  if (env !== undefined && env.trim() !== "") {
    const n = Number(env);
    if (!/^\s*\d+\s*$/.test(env) || !Number.isSafeInteger(n) || n < 1) {
      throw new Error(
        `SCOREGEN_THREADS=${JSON.stringify(env)} is not a positive integer: set it to a thread count such as 4, or unset it to use all ${available} available cores`,
      );
    }
    return n;
  }
  return available;
}

export function nodeBackend(opts: NodeBackendOptions = {}): Backend {
  let resolved: { threads: number; providers: string[]; session: ort.InferenceSession.SessionOptions } | undefined;
  const settings = () => {
    if (resolved) return resolved;
    const threads = resolveThreads(opts.threads, process.env.SCOREGEN_THREADS, availableParallelism());
    const providers = opts.providers ?? (process.env.SCOREGEN_EP ?? "cpu").split(",");
    const session: ort.InferenceSession.SessionOptions = {
      executionProviders: providers,
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
      executionMode: "sequential",
    };
    resolved = { threads, providers, session };
    return resolved;
  };
  return {
    get name() {
      const s = settings();
      return `ort-node/${s.providers.join("+")}/${s.threads}`;
    },
    async createSession(model: Uint8Array, hints: SessionHints = {}): Promise<BackendSession> {
      const options = settings().session;
      const s = await ort.InferenceSession.create(
        model,
        hints.float64 ? { ...options, graphOptimizationLevel: "basic" } : options,
      );
      return {
        async run(feeds, outputNames): Promise<RunResult> {
          const f: Record<string, ort.Tensor> = {};
          for (const [k, v] of Object.entries(feeds))
            f[k] = new ort.Tensor(v.dtype, v.data as never, v.shape as number[]);
          const out = await s.run(f, outputNames as string[]);
          const r: RunResult = {};
          for (const name of outputNames) r[name] = out[name]!.data as RunResult[string];
          return r;
        },
        release: () => s.release(),
      };
    },
  };
}
