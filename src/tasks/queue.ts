/**
 * The Redis job queue (BullMQ) behind sharded commands and `scoregen worker`.
 *
 * A command enqueues its chunk jobs (ids `<run>.<chunk>`) on the queue "scoregen", polls them
 * until every one is finished, and returns the results in chunk order. Workers take jobs, run them
 * with `runChunk` and return the result as the job's return value.
 *
 * Faults:
 * - a worker that dies mid-chunk stops renewing its lock; another worker's stalled-job check moves
 *   the job back to the wait list and it runs again. A job completes once in BullMQ, and the
 *   command keeps one result per chunk index, so nothing is counted twice.
 * - a job whose processor throws is retried up to `attempts` times; after the last attempt the
 *   command fails with the chunk's error.
 * - if Redis cannot be reached for `timeoutS` seconds the command fails with a message naming the
 *   URL; if Redis comes back without the jobs (restarted without persistence) the missing jobs are
 *   enqueued again (they are pure, so this resumes the run exactly).
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { type ConnectionOptions, type Job, Queue, Worker } from "bullmq";
import { type ChunkJob, type ChunkResult, type JobRunner, type SourceCache, runChunk } from "./shard.ts";

/** The BullMQ queue every scoregen command and worker uses. */
export const QUEUE_NAME = "scoregen";

export interface QueueRunOptions {
  /** Fail when Redis cannot be reached for this long (seconds, default 30). */
  timeoutS?: number;
  /** Attempts per chunk before the command fails with its error (default 3). */
  attempts?: number;
  /** Poll interval, ms (default 100). */
  pollMs?: number;
  /** Queue name (default "scoregen"). */
  queue?: string;
}

/** ioredis options from a redis:// URL; retries are bounded by our own deadlines, not by ioredis. */
function connection(url: string, forWorker: boolean): ConnectionOptions {
  checkRedisUrl(url);
  return {
    url,
    maxRetriesPerRequest: forWorker ? null : 1,
    retryStrategy: (times: number) => Math.min(100 * times, 1000),
    enableReadyCheck: true,
  };
}

/** Rejects anything but redis:// and rediss:// URLs with the fix. */
export function checkRedisUrl(url: string): void {
  if (!/^rediss?:\/\/[^/\s]+/.test(url))
    throw new Error(`--redis must be a redis://HOST:PORT (or rediss://) URL, got '${url}'`);
}

class RedisUnreachable extends Error {}

/** `p`, or a RedisUnreachable error after `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisUnreachable(what)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A JobRunner that sends jobs through Redis to `scoregen worker` processes. */
export function queueRunner(url: string, o: QueueRunOptions = {}): JobRunner {
  return async <R extends ChunkResult>(jobs: ChunkJob[], onDone?: (chunk: number) => void): Promise<R[]> => {
    const timeoutMs = 1000 * (o.timeoutS ?? 30),
      attempts = o.attempts ?? 3,
      pollMs = o.pollMs ?? 100;
    const queue = new Queue(o.queue ?? QUEUE_NAME, { connection: connection(url, false) });
    let lastError = "";
    queue.on("error", (e: Error) => {
      lastError = e.message;
    });
    const run = randomBytes(6).toString("hex");
    const idOf = (i: number) => `${run}.${i}`;
    const add = (i: number) =>
      queue.add(jobs[i]!.kind, jobs[i]!, {
        jobId: idOf(i),
        attempts,
        backoff: { type: "fixed", delay: 200 },
        removeOnComplete: { age: 86400 },
        removeOnFail: { age: 86400 },
      });
    const unreachable = (why = `for ${timeoutMs / 1000} s`) =>
      new Error(
        `lost the connection to Redis at ${url} ${why}${lastError ? ` (${lastError})` : ""}; nothing was written. Check that redis-server is running and reachable, then run the command again (--redis-timeout sets the wait)`,
      );
    const results = new Map<number, R>();
    try {
      try {
        await within(queue.waitUntilReady(), timeoutMs, "connect");
      } catch (e) {
        throw new Error(
          `cannot reach Redis at ${url} within ${timeoutMs / 1000} s (${lastError || (e as Error).message}): is redis-server running there? (--redis-timeout sets the wait)`,
        );
      }
      // Adding a job id twice is a no-op, so an enqueue cut short by a lost connection is simply repeated.
      const since = Date.now();
      for (;;) {
        try {
          await within(Promise.all(jobs.map((_, i) => add(i))), Math.min(timeoutMs, 5000), "enqueue");
          break;
        } catch (e) {
          lastError ||= (e as Error).message;
          if (Date.now() - since > timeoutMs) throw unreachable("while enqueueing the chunks");
          await sleep(200);
        }
      }
      let lastContact = Date.now(),
        requeued = 0;
      while (results.size < jobs.length) {
        await sleep(pollMs);
        const pending = jobs.map((_, i) => i).filter((i) => !results.has(i));
        let found: (Job | undefined)[];
        try {
          found = await within(
            Promise.all(pending.map((i) => queue.getJob(idOf(i)))),
            Math.min(timeoutMs, 5000),
            "poll",
          );
          lastContact = Date.now();
        } catch {
          if (Date.now() - lastContact > timeoutMs) throw unreachable();
          continue;
        }
        for (const [k, job] of found.entries()) {
          const i = pending[k]!;
          if (!job) {
            // Redis came back without our jobs (restarted without persistence): run them again.
            if (++requeued > 10 * jobs.length)
              throw new Error(`the jobs of this run keep disappearing from Redis at ${url}; is something flushing it?`);
            await within(add(i), timeoutMs, "requeue").catch(() => undefined);
            continue;
          }
          if (!job.finishedOn) continue;
          if (job.returnvalue && typeof job.returnvalue === "object") {
            results.set(i, job.returnvalue as R);
            onDone?.(i);
          } else if (job.failedReason) {
            throw new Error(
              `chunk ${i} of ${jobs.length} failed after ${job.attemptsMade} attempt${job.attemptsMade === 1 ? "" : "s"}: ${job.failedReason}`,
            );
          }
        }
      }
      return jobs.map((_, i) => results.get(i)!);
    } finally {
      // Best effort: drop this run's jobs (finished ones hold results; waiting ones need not run now).
      await within(Promise.all(jobs.map((_, i) => queue.remove(idOf(i)).catch(() => 0))), 2000, "cleanup").catch(
        () => undefined,
      );
      await within(queue.close(), 2000, "close").catch(() => queue.disconnect().catch(() => undefined));
    }
  };
}

export interface WorkerOptions {
  concurrency?: number;
  /** Lock on an active job, renewed every half of it; a dead worker's job is free again after it (ms, default 30000). */
  lockDuration?: number;
  /** How often this worker looks for stalled jobs (ms, default 30000). */
  stalledInterval?: number;
  /** A job stalled more than this many times fails (default 5). */
  maxStalledCount?: number;
  queue?: string;
  /** One line per event (job started, finished, failed; connection errors). */
  log?: (line: string) => void;
}

/** A running worker: `close()` finishes active jobs and disconnects. */
export interface RunningWorker {
  readonly name: string;
  close(): Promise<void>;
}

/** Starts a worker that runs scoregen chunk jobs from Redis at `url`. */
export async function startWorker(url: string, o: WorkerOptions = {}): Promise<RunningWorker> {
  const log = o.log ?? (() => undefined);
  const cache: SourceCache = new Map();
  const name = `${hostname()}:${process.pid}`;
  const worker = new Worker(
    o.queue ?? QUEUE_NAME,
    async (job: Job) => {
      const data = job.data as ChunkJob;
      log(`start ${job.id} ${data.kind} chunk ${data.chunk} (attempt ${job.attemptsMade + 1})`);
      const t0 = performance.now();
      const r = await runChunk(data, cache);
      log(`done ${job.id} in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
      return r;
    },
    {
      connection: connection(url, true),
      name,
      concurrency: o.concurrency ?? 1,
      lockDuration: o.lockDuration ?? 30000,
      stalledInterval: o.stalledInterval ?? 30000,
      maxStalledCount: o.maxStalledCount ?? 5,
    },
  );
  let lastError = "";
  worker.on("error", (e: Error) => {
    if (e.message !== lastError) log(`redis error: ${e.message}`);
    lastError = e.message;
  });
  worker.on("failed", (job, e) => log(`failed ${job?.id}: ${e.message}`));
  await worker.waitUntilReady();
  return { name, close: () => worker.close() };
}
