/**
 * onnxruntime-node backend: CPU execution provider by default, one intra-op thread per available
 * core unless told otherwise; CUDA when SCOREGEN_EP=cuda and the CUDA binaries were installed (see
 * README). Options are resolved when the first session is created, so a bad SCOREGEN_THREADS is
 * reported as an ordinary error by whatever compiles first, not at import.
 *
 * Profiling (opt-in): SCOREGEN_PROFILE=<path prefix> (or `profilePrefix`) makes every session
 * record ORT's per-node timings; `endProfiling()` on the backend writes one Chrome-trace JSON per
 * session, named <prefix>-<k>_<timestamp>.json (bench/profile.ts summarizes them by op class).
 */
import { availableParallelism } from "node:os";
import ort from "onnxruntime-node";
import { type Backend, type BackendSession, type SessionHints, ortBackendSession } from "./runtime.ts";

export interface NodeBackendOptions {
  /** Intra-op threads (default: SCOREGEN_THREADS, else every available core). */
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
  /**
   * Inter-op threads: above 1, ORT runs independent nodes concurrently ("parallel" execution mode),
   * each still with `threads` intra-op threads (default 1: sequential).
   */
  interOpThreads?: number;
}

/** A Backend whose profiled sessions can be flushed to disk. */
export interface NodeBackend extends Backend {
  /** Ends profiling on every profiled session made so far (each writes its JSON file). */
  endProfiling(): void;
  /** Profiled sessions made so far (their files are numbered 0, 1, … in creation order). */
  readonly profiledSessions: number;
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

/** ORT's nested `extra` option from flat "a.b.c" config keys. */
function extraFrom(config: Record<string, string>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    const parts = key.split(".");
    let node = root;
    for (const p of parts.slice(0, -1)) {
      node[p] ??= {};
      node = node[p] as Record<string, unknown>;
    }
    node[parts.at(-1)!] = value;
  }
  return root;
}

/** "k=v,k2=v2" → { k: v, k2: v2 }; throws naming SCOREGEN_ORT_CONFIG on a malformed pair. */
function parseConfig(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(",").filter((p) => p.trim())) {
    const eq = pair.indexOf("=");
    if (eq <= 0)
      throw new Error(
        `SCOREGEN_ORT_CONFIG: '${pair}' is not key=value; write e.g. SCOREGEN_ORT_CONFIG=session.intra_op.allow_spinning=0`,
      );
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

interface ResolvedSettings {
  name: string;
  profilePrefix?: string;
  session: ort.InferenceSession.SessionOptions;
}

/** Options and environment turned into ORT session options (once, at the first session). */
function resolveSettings(opts: NodeBackendOptions): ResolvedSettings {
  const threads = resolveThreads(opts.threads, process.env.SCOREGEN_THREADS, availableParallelism());
  const providers = opts.providers ?? (process.env.SCOREGEN_EP ?? "cpu").split(",");
  const profilePrefix = opts.profilePrefix ?? process.env.SCOREGEN_PROFILE;
  const config =
    opts.sessionConfig ?? (process.env.SCOREGEN_ORT_CONFIG ? parseConfig(process.env.SCOREGEN_ORT_CONFIG) : undefined);
  const configTag = config
    ? `/${Object.entries(config)
        .map(([k, v]) => `${k}=${v}`)
        .join(",")}`
    : "";
  return {
    name: `ort-node/${providers.join("+")}/${threads}${configTag}${profilePrefix ? `/profile:${profilePrefix}` : ""}`,
    profilePrefix,
    session: {
      executionProviders: providers,
      intraOpNumThreads: threads,
      interOpNumThreads: opts.interOpThreads ?? 1,
      graphOptimizationLevel: opts.graphOptimizationLevel ?? "all",
      executionMode: (opts.interOpThreads ?? 1) > 1 ? "parallel" : "sequential",
      ...(config ? { extra: extraFrom(config) } : {}),
    },
  };
}

export function nodeBackend(opts: NodeBackendOptions = {}): NodeBackend {
  let resolved: ResolvedSettings | undefined;
  const settings = () => (resolved ??= resolveSettings(opts));
  const profiled: ort.InferenceSession[] = [];
  return {
    get name() {
      return settings().name;
    },
    async createSession(model: Uint8Array, hints: SessionHints = {}): Promise<BackendSession> {
      const { session, profilePrefix } = settings();
      let o: ort.InferenceSession.SessionOptions = hints.float64
        ? { ...session, graphOptimizationLevel: "basic" }
        : session;
      if (profilePrefix) o = { ...o, enableProfiling: true, profileFilePrefix: `${profilePrefix}-${profiled.length}` };
      const s = await ort.InferenceSession.create(model, o);
      if (profilePrefix) profiled.push(s);
      const cpu = (o.executionProviders ?? ["cpu"]).every((p) => p === "cpu");
      return ortBackendSession(s, (v) => new ort.Tensor(v.dtype, v.data as never, v.shape as number[]), cpu);
    },
    endProfiling(): void {
      for (const s of profiled) s.endProfiling();
    },
    get profiledSessions() {
      return profiled.length;
    },
  };
}
