/** The flags shared by sharded commands (--redis, --shards, …) and the runner they select. */
import type { Command } from "commander";
import { queueRunner } from "../tasks/queue.ts";
import { type JobRunner, inProcessRunner } from "../tasks/shard.ts";
import { UsageError, numberOpt } from "./errors.ts";
import { type Progress, progressBar } from "./progress.ts";

export function addShardFlags(cmd: Command): Command {
  return cmd
    .option(
      "--shards <k>",
      "split the work into K chunks, each with its own random stream from --seed and its index; the result depends only on the seed and K (runs here unless --redis is given)",
    )
    .option(
      "--redis <url>",
      "send the chunks to `scoregen worker` processes through Redis at redis://HOST:PORT (needs --shards); workers must be able to read the --score path",
    )
    .option("--redis-timeout <s>", "with --redis: fail when Redis cannot be reached for this many seconds", "30")
    .option("--attempts <n>", "with --redis: attempts per chunk before the command fails with its error", "3");
}

export interface ShardPlan {
  shards: number;
  run: JobRunner;
  /** Where the chunks run, for messages: "in-process" or the Redis URL. */
  where: string;
}

/** The chunking and runner the flags ask for, or undefined for an unsharded run. */
export function shardPlan(f: Record<string, unknown>): ShardPlan | undefined {
  if (f.redis !== undefined && f.shards === undefined)
    throw new UsageError("--redis needs --shards K (the number of chunks to split the work into)");
  if (f.shards === undefined) return undefined;
  const shards = numberOpt("--shards", String(f.shards), { int: true, min: 1 })!;
  if (f.redis === undefined) return { shards, run: inProcessRunner, where: "in-process" };
  const url = String(f.redis);
  if (!/^rediss?:\/\/[^/\s]+/.test(url)) throw new UsageError(`--redis must be a redis://HOST:PORT URL, got '${url}'`);
  const run = queueRunner(url, {
    timeoutS: numberOpt("--redis-timeout", String(f.redisTimeout ?? "30"), { min: 0.1 }),
    attempts: numberOpt("--attempts", String(f.attempts ?? "3"), { int: true, min: 1 }),
  });
  return { shards, run, where: url };
}

/** A progress bar over chunks. */
export function chunkBar(label: string, plan: ShardPlan): Progress & { tick: (chunk: number) => void } {
  const bar = progressBar(`${label} (${plan.shards} chunks, ${plan.where})`, plan.shards);
  let done = 0;
  return { ...bar, tick: () => bar.update(++done) };
}
