/**
 * Sharded work: a sample, likelihood or training request split into self-contained chunk jobs
 * (plain JSON, so they can travel through a job queue to other processes and machines), the code
 * that runs one chunk with the existing tasks (sampleByName, logLikelihood, train), and the merge.
 *
 * Determinism: chunk i of a request with seed s draws only from `new Rng(s).fork(i)`, so the merged
 * result depends on the seed and the chunking alone — not on which process ran which chunk, nor
 * in which order chunks finished. A job is pure (same job → same bytes), so a chunk that is retried
 * after a crash gives exactly what the first attempt would have; results are kept by chunk index.
 *
 * Jobs name the model by path (a run folder or oracle:SPEC.json); every worker must be able to
 * read that path (a shared file system, or an object store mounted at the same path).
 */
import { resolve } from "node:path";
import { toy2d } from "../data/toy2d.ts";
import { logLikelihood } from "../likelihood/index.ts";
import { Rng } from "../rng.ts";
import type { AnySamplerOptions } from "../sampling/registry.ts";
import { type ScoreModel, beforeEachEvaluation } from "../score.ts";
import { sampleByName } from "./sample.ts";
import { type ImageDataOptions, type ScoreSource, openScoreSource, openTrainData } from "./sources.ts";
import type { TrainConfig } from "./train.ts";
import { trainToFolder } from "./train-node.ts";

/** Where a model comes from, as every worker must open it. */
export interface ModelRef {
  /** Absolute run folder, or "oracle:" + absolute spec path. */
  score: string;
  /** SDE for an oracle (a run folder uses its own). */
  sde?: string;
  /** Use the EMA parameters (default true). */
  ema?: boolean;
}

/** One chunk of a sampling request: rows [start, start+n) of the whole output. */
export interface SampleChunkJob extends ModelRef {
  kind: "sample";
  chunk: number;
  seed: number;
  sampler: string;
  options: AnySamplerOptions;
  n: number;
  /** Class label of each row of this chunk (class-conditional models). */
  labels?: number[];
  /** Start states at t = T for this chunk's rows, float64 little-endian in base64. */
  xT?: string;
}

/** One chunk of a likelihood request: the points of rows [start, start+n). */
export interface LikelihoodChunkJob extends ModelRef {
  kind: "likelihood";
  chunk: number;
  seed: number;
  n: number;
  /** The chunk's points [n·dim], float64 little-endian in base64. */
  points: string;
  options: {
    divergence?: "auto" | "exact" | "hutchinson";
    probe?: "rademacher" | "gaussian";
    probes?: number;
    rtol?: number;
    atol?: number;
    eps?: number;
  };
}

/** One training run of a sweep: `train` into `outDir`, then the held-out NLL for built-in 2-D data. */
export interface TrainJob {
  kind: "train";
  chunk: number;
  cfg: TrainConfig;
  data: string;
  dataOptions?: ImageDataOptions;
  steps: number;
  /** Absolute run folder for this grid point. */
  outDir: string;
  /** Held-out points for the NLL (built-in 2-D data only; 0 = skip). */
  heldOut: number;
  /** The grid point, echoed into the result table. */
  point: Record<string, unknown>;
}

export type ChunkJob = SampleChunkJob | LikelihoodChunkJob | TrainJob;

export interface SampleChunkResult {
  kind: "sample";
  x: string;
  nfe: number;
}
export interface LikelihoodChunkResult {
  kind: "likelihood";
  logp: string;
  bpd: string;
  z: string;
  nfe: number;
}
export interface TrainJobResult {
  kind: "train";
  outDir: string;
  point: Record<string, unknown>;
  step: number;
  /** Mean loss of the last 100 steps. */
  finalLoss: number;
  /** Mean −log p of held-out points under the model, nats (built-in 2-D data). */
  heldOutNll?: number;
  /** The same under the true density, when it is known in closed form or by quadrature. */
  trueNll?: number;
  seconds: number;
}
export type ChunkResult = SampleChunkResult | LikelihoodChunkResult | TrainJobResult;

/** A float64 array as base64 of its little-endian bytes (exact, and a third the size of JSON text). */
export function packF64(a: Float64Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
}

/** Inverse of packF64. */
export function unpackF64(s: string): Float64Array {
  const b = Buffer.from(s, "base64");
  if (b.byteLength % 8 !== 0) throw new Error(`corrupt float64 payload: ${b.byteLength} bytes is not a multiple of 8`);
  const out = new Float64Array(b.byteLength / 8);
  new Uint8Array(out.buffer).set(b);
  return out;
}

/** Row ranges of n rows in k chunks: the first n mod k chunks get one row more. */
export function chunkRanges(n: number, k: number): { start: number; count: number }[] {
  if (!Number.isInteger(k) || k < 1) throw new Error(`the number of shards must be a positive integer, got ${k}`);
  if (k > n) throw new Error(`cannot split ${n} rows into ${k} shards; use at most ${n} shards`);
  const base = Math.floor(n / k),
    extra = n % k;
  const out: { start: number; count: number }[] = [];
  for (let i = 0, start = 0; i < k; i++) {
    const count = base + (i < extra ? 1 : 0);
    out.push({ start, count });
    start += count;
  }
  return out;
}

/** The random stream of chunk i of a request with `seed`. */
export const chunkRng = (seed: number, chunk: number): Rng => new Rng(seed).fork(chunk);

/** A model path as every process must see it: absolute (oracle:PATH keeps its prefix). */
export function absoluteScore(score: string): string {
  return score.startsWith("oracle:") ? `oracle:${resolve(score.slice("oracle:".length))}` : resolve(score);
}

/** Opened models, kept across chunks by one worker (unconditional models only: labels differ per chunk). */
export type SourceCache = Map<string, Promise<ScoreSource>>;

async function openModel(ref: ModelRef, cache: SourceCache | undefined, labels?: number[]): Promise<ScoreSource> {
  const open = async () => {
    const src = await openScoreSource(ref.score, ref.sde, {
      ema: ref.ema ?? true,
      labels: labels ? Int32Array.from(labels) : undefined,
    });
    return { ...src, model: yielding(src.model) };
  };
  if (labels || !cache) return open();
  const key = JSON.stringify([ref.score, ref.sde ?? "", ref.ema ?? true]);
  let p = cache.get(key);
  if (!p) {
    p = open();
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

/**
 * The same model, but every evaluation first lets the event loop run: a chunk of pure-JS math
 * (an oracle) would otherwise starve timers, and a queue worker's lock renewal is a timer. The
 * numbers are untouched.
 */
function yielding(model: ScoreModel): ScoreModel {
  return beforeEachEvaluation(model, () => new Promise<void>((r) => setImmediate(r)));
}

/** Runs one chunk job with the existing tasks. Pure: the same job always gives the same result. */
export async function runChunk(job: ChunkJob, cache?: SourceCache): Promise<ChunkResult> {
  switch (job.kind) {
    case "sample":
      return runSampleChunk(job, cache);
    case "likelihood":
      return runLikelihoodChunk(job, cache);
    case "train":
      return runTrainJob(job);
    default:
      throw new Error(
        `unknown job kind '${(job as { kind: unknown }).kind}': is this worker older than the command that queued the job?`,
      );
  }
}

async function runSampleChunk(job: SampleChunkJob, cache?: SourceCache): Promise<SampleChunkResult> {
  const src = await openModel(job, cache, job.labels);
  const xT = job.xT ? unpackF64(job.xT) : undefined;
  if (xT && xT.length !== job.n * src.model.dim)
    throw new Error(`chunk ${job.chunk}: ${xT.length} start values for ${job.n} rows of dimension ${src.model.dim}`);
  const r = await sampleByName(src.model, src.sde, job.sampler, {
    n: job.n,
    seed: job.seed,
    rng: chunkRng(job.seed, job.chunk),
    options: job.options,
    xT,
  });
  return { kind: "sample", x: packF64(r.x), nfe: r.nfe };
}

async function runLikelihoodChunk(job: LikelihoodChunkJob, cache?: SourceCache): Promise<LikelihoodChunkResult> {
  const src = await openModel(job, cache);
  const x = unpackF64(job.points);
  const r = await logLikelihood(src.model, src.sde, x, job.n, { ...job.options, rng: chunkRng(job.seed, job.chunk) });
  return { kind: "likelihood", logp: packF64(r.logp), bpd: packF64(r.bpd), z: packF64(r.z), nfe: r.nfe };
}

/** Seed of the held-out draw for a sweep's NLL (the same as `scoregen likelihood --data`'s default). */
export const HELD_OUT_SEED = 12345;

async function runTrainJob(job: TrainJob): Promise<TrainJobResult> {
  const t0 = performance.now();
  const data = await openTrainData(job.data, job.dataOptions ?? {});
  const res = await trainToFolder(job.cfg, data, { steps: job.steps, outDir: job.outDir });
  const tail = res.losses.slice(-100);
  const out: TrainJobResult = {
    kind: "train",
    outDir: job.outDir,
    point: job.point,
    step: res.step,
    finalLoss: tail.reduce((a, b) => a + b, 0) / Math.max(1, tail.length),
    seconds: 0,
  };
  const truth = job.heldOut > 0 && data.dim === 2 ? safeToy2d(job.data) : undefined;
  if (truth) {
    const x = truth.sample(job.heldOut, new Rng(HELD_OUT_SEED));
    const src = await openScoreSource(job.outDir);
    const r = await logLikelihood(src.model, src.sde, x, job.heldOut, {});
    out.heldOutNll = -mean(r.logp);
    if (truth.logDensity)
      out.trueNll = -mean(
        Float64Array.from({ length: job.heldOut }, (_, i) => truth.logDensity!(x[2 * i]!, x[2 * i + 1]!)),
      );
  }
  out.seconds = (performance.now() - t0) / 1000;
  return out;
}

function safeToy2d(name: string): ReturnType<typeof toy2d> | undefined {
  try {
    return toy2d(name);
  } catch {
    return undefined;
  }
}

const mean = (a: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s / a.length;
};

/**
 * Runs jobs somewhere and returns their results in job order. `onDone(i)` is called once per
 * finished job (for a progress bar). The in-process runner and the Redis queue runner implement it.
 */
export type JobRunner = <R extends ChunkResult>(jobs: ChunkJob[], onDone?: (chunk: number) => void) => Promise<R[]>;

/** Runs every job here, one after another (the reference a queue run must equal byte for byte). */
export const inProcessRunner: JobRunner = async <R extends ChunkResult>(
  jobs: ChunkJob[],
  onDone?: (chunk: number) => void,
) => {
  const cache: SourceCache = new Map();
  const out: R[] = [];
  for (const [i, job] of jobs.entries()) {
    out.push((await runChunk(job, cache)) as R);
    onDone?.(i);
  }
  return out;
};

/** What a sampling request needs besides the model. */
export interface ShardedSampleRequest extends ModelRef {
  sampler: string;
  options: AnySamplerOptions;
  n: number;
  seed: number;
  labels?: Int32Array;
  xT?: Float64Array;
  dim?: number;
}

/** The chunk jobs of a sampling request (model path made absolute). */
export function sampleJobs(req: ShardedSampleRequest, shards: number): SampleChunkJob[] {
  return chunkRanges(req.n, shards).map(({ start, count }, chunk) => {
    const job: SampleChunkJob = {
      kind: "sample",
      chunk,
      score: absoluteScore(req.score),
      sde: req.sde,
      ema: req.ema ?? true,
      sampler: req.sampler,
      options: req.options,
      seed: req.seed,
      n: count,
    };
    if (req.labels) job.labels = Array.from(req.labels.subarray(start, start + count));
    if (req.xT) {
      const dim = req.xT.length / req.n;
      job.xT = packF64(req.xT.subarray(start * dim, (start + count) * dim));
    }
    return job;
  });
}

/** Samples [n·dim] of a sharded request, merged in chunk order, and the total score evaluations. */
export async function sampleSharded(
  req: ShardedSampleRequest,
  shards: number,
  run: JobRunner,
  onDone?: (chunk: number) => void,
): Promise<{ x: Float64Array; nfe: number }> {
  const results = await run<SampleChunkResult>(sampleJobs(req, shards), onDone);
  return { x: concat(results.map((r) => unpackF64(r.x))), nfe: results.reduce((s, r) => s + r.nfe, 0) };
}

/** What a likelihood request needs besides the model. */
export interface ShardedLikelihoodRequest extends ModelRef {
  points: Float64Array;
  n: number;
  seed: number;
  options: LikelihoodChunkJob["options"];
}

export function likelihoodJobs(req: ShardedLikelihoodRequest, shards: number): LikelihoodChunkJob[] {
  const dim = req.points.length / req.n;
  return chunkRanges(req.n, shards).map(({ start, count }, chunk) => ({
    kind: "likelihood",
    chunk,
    score: absoluteScore(req.score),
    sde: req.sde,
    ema: req.ema ?? true,
    seed: req.seed,
    n: count,
    points: packF64(req.points.subarray(start * dim, (start + count) * dim)),
    options: req.options,
  }));
}

/** Per-point log p (nats), bits/dim and latents of a sharded request, merged in chunk order; nfe summed over chunks. */
export async function likelihoodSharded(
  req: ShardedLikelihoodRequest,
  shards: number,
  run: JobRunner,
  onDone?: (chunk: number) => void,
): Promise<{ logp: Float64Array; bpd: Float64Array; z: Float64Array; nfe: number }> {
  const rs = await run<LikelihoodChunkResult>(likelihoodJobs(req, shards), onDone);
  return {
    logp: concat(rs.map((r) => unpackF64(r.logp))),
    bpd: concat(rs.map((r) => unpackF64(r.bpd))),
    z: concat(rs.map((r) => unpackF64(r.z))),
    nfe: rs.reduce((s, r) => s + r.nfe, 0),
  };
}

function concat(parts: Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
