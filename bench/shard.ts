/**
 * Throughput of sharded sampling through Redis with 1, 2, 4 worker processes, and the overhead per
 * chunk (not a test). Starts its own redis-server on a free loopback port.
 *
 *   npx tsx bench/shard.ts --score RUN [--n 8000] [--shards 8] [--steps 500] [--workers 1,2,4]
 *
 * Each worker process runs with SCOREGEN_THREADS=1 (one core each). Throughput = samples / the
 * command's own seconds (model open to merged result; process start-up excluded). Overhead per
 * chunk = (queued − in-process seconds) / chunks for many tiny chunks (1 sampler step) on 1 worker.
 */
import { parseArgs } from "node:util";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findRedisServer, scoregen, startRedis, stopProcess } from "../test/helpers/redis.ts";

const { values: v } = parseArgs({
  options: {
    score: { type: "string" },
    n: { type: "string", default: "8000" },
    shards: { type: "string", default: "8" },
    steps: { type: "string", default: "500" },
    workers: { type: "string", default: "1,2,4" },
    tiny: { type: "string", default: "64" },
  },
});
if (!v.score) throw new Error("pass --score RUN (a trained run folder, e.g. from scoregen train --data moons)");
const bin = findRedisServer();
if (!bin) throw new Error("redis-server not found: apt-get install redis-server");
const dir = await mkdtemp(join(tmpdir(), "scoregen-bench-shard-"));
const redis = await startRedis(bin);
const env1 = { SCOREGEN_THREADS: "1" };

async function sample(args: string[], extraEnv: Record<string, string> = {}): Promise<number> {
  const c = scoregen(
    ["sample", "--score", v.score!, "--sampler", "em", "--json", "--out", join(dir, `o${Math.random()}.json`), ...args],
    600000,
    extraEnv,
  );
  const r = await c.exited;
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout).seconds as number;
}

try {
  const base = ["--n", v.n!, "--steps", v.steps!, "--shards", v.shards!];
  const local1 = await sample(base, env1);
  console.log(
    JSON.stringify({ what: "in-process, 1 thread", seconds: local1, samplesPerS: Math.round(Number(v.n) / local1) }),
  );
  for (const w of v.workers!.split(",").map(Number)) {
    const workers = Array.from({ length: w }, () =>
      scoregen(["worker", "--redis", redis.url, "--quiet"], 600000, env1),
    );
    await Promise.all(workers.map((x) => x.waitFor(/ready/)));
    const s = await sample([...base, "--redis", redis.url]);
    console.log(
      JSON.stringify({
        what: `${w} worker process${w > 1 ? "es" : ""}`,
        seconds: s,
        samplesPerS: Math.round(Number(v.n) / s),
        speedup: Math.round((local1 / s) * 100) / 100,
      }),
    );
    if (w === 1) {
      const tiny = ["--n", v.tiny!, "--steps", "1", "--shards", v.tiny!];
      const here = await sample(tiny, env1),
        queued = await sample([...tiny, "--redis", redis.url]);
      console.log(
        JSON.stringify({
          what: `overhead per chunk (${v.tiny} one-step chunks, 1 worker)`,
          inProcessS: here,
          queuedS: queued,
          msPerChunk: Math.round(((queued - here) / Number(v.tiny)) * 1000 * 10) / 10,
        }),
      );
    }
    await Promise.all(workers.map((x) => stopProcess(x.proc)));
  }
} finally {
  await redis.stop();
}
