/**
 * onnxruntime-node backend: CPU execution provider by default (2 intra-op threads unless set),
 * CUDA when SCOREGEN_EP=cuda and the CUDA binaries were installed (see README).
 *
 * Profiling (opt-in): SCOREGEN_PROFILE=<path prefix> (or `profilePrefix`) makes every session
 * record ORT's per-node timings; `endProfiling()` on the backend writes one Chrome-trace JSON per
 * session, named <prefix>-<k>_<timestamp>.json (bench/profile.ts summarizes them by op class).
 */
import ort from "onnxruntime-node";
import type { Backend, BackendSession, RunResult, SessionHints } from "./runtime.ts";

export interface NodeBackendOptions {
  /** Intra-op threads (default: SCOREGEN_THREADS or 2). */
  threads?: number;
  /** Execution providers in order of preference (default: SCOREGEN_EP or "cpu"). */
  providers?: string[];
  /** ORT graph optimization level for float32 programs (default "all"; float64 ones use "basic"). */
  graphOptimizationLevel?: "basic" | "extended" | "all";
  /** Record ORT profiles with this file prefix (default: SCOREGEN_PROFILE; unset = off). */
  profilePrefix?: string;
  /**
   * Extra ORT session config entries, e.g. { "session.intra_op.allow_spinning": "0" } (default:
   * SCOREGEN_ORT_CONFIG as comma-separated key=value pairs; unset = none).
   */
  sessionConfig?: Record<string, string>;
}

/** A Backend whose profiled sessions can be flushed to disk. */
export interface NodeBackend extends Backend {
  /** Ends profiling on every profiled session made so far (each writes its JSON file). */
  endProfiling(): void;
  /** Profiled sessions made so far (their files are numbered 0, 1, … in creation order). */
  readonly profiledSessions: number;
}

/** ORT's nested `extra` option from flat "a.b.c" config keys. */
function extraFrom(config: Record<string, string>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    const parts = key.split(".");
    let node = root;
    for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
    node[parts.at(-1)!] = value;
  }
  return root;
}

/** "k=v,k2=v2" → { k: v, k2: v2 }; throws naming SCOREGEN_ORT_CONFIG on a malformed pair. */
function parseConfig(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(",").filter((p) => p.trim())) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new Error(`SCOREGEN_ORT_CONFIG: '${pair}' is not key=value; write e.g. SCOREGEN_ORT_CONFIG=session.intra_op.allow_spinning=0`);
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

export function nodeBackend(opts: NodeBackendOptions = {}): NodeBackend {
  const threads = opts.threads ?? Number(process.env.SCOREGEN_THREADS ?? 2);
  const providers = opts.providers ?? (process.env.SCOREGEN_EP ?? "cpu").split(",");
  const profilePrefix = opts.profilePrefix ?? process.env.SCOREGEN_PROFILE;
  const config = opts.sessionConfig ?? (process.env.SCOREGEN_ORT_CONFIG ? parseConfig(process.env.SCOREGEN_ORT_CONFIG) : undefined);
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: providers, intraOpNumThreads: threads, interOpNumThreads: 1,
    graphOptimizationLevel: opts.graphOptimizationLevel ?? "all", executionMode: "sequential",
    ...(config ? { extra: extraFrom(config) } : {}),
  };
  const profiled: ort.InferenceSession[] = [];
  const configTag = config ? `/${Object.entries(config).map(([k, v]) => `${k}=${v}`).join(",")}` : "";
  return {
    name: `ort-node/${providers.join("+")}/${threads}${opts.graphOptimizationLevel ? `/opt:${opts.graphOptimizationLevel}` : ""}${configTag}${profilePrefix ? `/profile:${profilePrefix}` : ""}`,
    async createSession(model: Uint8Array, hints: SessionHints = {}): Promise<BackendSession> {
      let o: ort.InferenceSession.SessionOptions = hints.float64 ? { ...sessionOptions, graphOptimizationLevel: "basic" } : sessionOptions;
      if (profilePrefix) o = { ...o, enableProfiling: true, profileFilePrefix: `${profilePrefix}-${profiled.length}` };
      const s = await ort.InferenceSession.create(model, o);
      if (profilePrefix) profiled.push(s);
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
    endProfiling(): void {
      for (const s of profiled) s.endProfiling();
    },
    get profiledSessions() { return profiled.length; },
  };
}
