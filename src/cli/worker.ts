/** `scoregen worker`: run sharded sample/likelihood chunks and sweep training jobs from a Redis queue. */
import type { Command } from "commander";
import { checkRedisUrl, startWorker } from "../tasks/queue.ts";
import { UsageError, numberOpt } from "./errors.ts";

interface WorkerFlags {
  redis: string;
  concurrency: string;
  lockMs: string;
  stalledMs: string;
  quiet?: boolean;
}

export function registerWorker(program: Command): void {
  program
    .command("worker")
    .description(
      "take scoregen jobs from the Redis queue until stopped (SIGINT/SIGTERM finish the active jobs first); any number of workers on any machines that reach Redis and can read the models' paths",
    )
    .requiredOption("--redis <url>", "Redis URL, redis://HOST:PORT")
    .option(
      "--concurrency <n>",
      "jobs at a time in this process (for CPU-bound work start one process per core instead)",
      "1",
    )
    .option(
      "--lock-ms <ms>",
      "job lock, renewed every half of it; a crashed worker's chunk runs again elsewhere after at most this long",
      "30000",
    )
    .option("--stalled-ms <ms>", "how often to look for chunks of crashed workers", "30000")
    .option("--quiet", "do not log each job")
    .action(async (f: WorkerFlags) => runWorker(f));
}

async function runWorker(f: WorkerFlags): Promise<void> {
  try {
    checkRedisUrl(f.redis);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const log = f.quiet ? () => undefined : (line: string) => console.log(`[worker ${process.pid}] ${line}`);
  const ready = startWorker(f.redis, {
    concurrency: numberOpt("--concurrency", f.concurrency, { int: true, min: 1 }),
    lockDuration: numberOpt("--lock-ms", f.lockMs, { int: true, min: 100 }),
    stalledInterval: numberOpt("--stalled-ms", f.stalledMs, { int: true, min: 100 }),
    log,
  });
  const w = await Promise.race([
    ready,
    new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`cannot reach Redis at ${f.redis} within 30 s: is redis-server running there?`)),
        30000,
      ).unref(),
    ),
  ]);
  console.log(`[worker ${process.pid}] ready: ${w.name} on ${f.redis}`);
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      log(`${sig}: finishing active jobs`);
      // A worker whose Redis is gone cannot close cleanly: give it a few seconds.
      setTimeout(() => process.exit(0), 5000).unref();
      w.close().then(resolve, resolve);
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
}
