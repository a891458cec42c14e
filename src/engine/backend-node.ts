/**
 * onnxruntime-node backend: CPU execution provider by default (2 intra-op threads unless set),
 * CUDA when SCOREGEN_EP=cuda and the CUDA binaries were installed (see README).
 */
import ort from "onnxruntime-node";
import type { Backend, BackendSession, RunResult, SessionHints } from "./runtime.ts";

export interface NodeBackendOptions {
  /** Intra-op threads (default: SCOREGEN_THREADS or 2). */
  threads?: number;
  /** Execution providers in order of preference (default: SCOREGEN_EP or "cpu"). */
  providers?: string[];
}

export function nodeBackend(opts: NodeBackendOptions = {}): Backend {
  const threads = opts.threads ?? Number(process.env.SCOREGEN_THREADS ?? 2);
  const providers = opts.providers ?? (process.env.SCOREGEN_EP ?? "cpu").split(",");
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: providers, intraOpNumThreads: threads, interOpNumThreads: 1,
    graphOptimizationLevel: "all", executionMode: "sequential",
  };
  return {
    name: `ort-node/${providers.join("+")}/${threads}`,
    async createSession(model: Uint8Array, hints: SessionHints = {}): Promise<BackendSession> {
      const s = await ort.InferenceSession.create(model, hints.float64 ? { ...sessionOptions, graphOptimizationLevel: "basic" } : sessionOptions);
      return {
        async run(feeds, outputNames): Promise<RunResult> {
          const f: Record<string, ort.Tensor> = {};
          for (const [k, v] of Object.entries(feeds)) f[k] = new ort.Tensor(v.dtype, v.data as never, v.shape as number[]);
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
