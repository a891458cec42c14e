/**
 * Sharded work over a real redis-server with 3 `scoregen worker` processes: the merged output is
 * byte-identical to the in-process run with the same seed and chunking, also when a worker is
 * killed mid-chunk; a chunk that keeps failing fails the command with its error; killing Redis
 * fails the command with a clear message and leaves no file. Skipped (with the reason) when no
 * redis-server binary is installed (Debian: apt-get install redis-server; .ci/run installs it).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { queueRunner } from "../src/tasks/queue.ts";
import type { ChunkJob } from "../src/tasks/shard.ts";
import { type Child, type RedisServer, findRedisServer, scoregen, startRedis, stopProcess } from "./helpers/redis.ts";
import { SHARD_MIXTURE } from "./helpers/mixtures.ts";

const REDIS = findRedisServer();
const SKIP = REDIS
  ? false
  : "redis-server not found on PATH: install the Debian package redis-server (.ci/run does) to run the Redis tests";
if (SKIP) console.log(`# skipped the Redis tests: ${SKIP}`);

/** 6 chunks of 100 points, EM with 400 steps on an exact mixture score: ~0.1–0.5 s per chunk. */
const SAMPLE = ["sample", "--sampler", "em", "--steps", "400", "--n", "600", "--seed", "7", "--shards", "6", "--json"];
const WORKER_FLAGS = ["--lock-ms", "1000", "--stalled-ms", "300"];

describe("sharding over Redis (BullMQ) with 3 worker processes", { skip: SKIP, timeout: 300000 }, () => {
  let redis: RedisServer, dir: string, score: string, reference: Buffer;
  const workers: Child[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "scoregen-shard-"));
    await writeFile(join(dir, "mix.json"), JSON.stringify(SHARD_MIXTURE));
    score = `oracle:${join(dir, "mix.json")}`;
    redis = await startRedis(REDIS!);
    for (let k = 0; k < 3; k++) workers.push(scoregen(["worker", "--redis", redis.url, ...WORKER_FLAGS], 280000));
    const ref = scoregen([...SAMPLE, "--score", score, "--out", join(dir, "reference.json")]);
    const [r] = await Promise.all([ref.exited, ...workers.map((w) => w.waitFor(/ready/))]);
    assert.equal(r.code, 0, r.stderr);
    reference = await readFile(join(dir, "reference.json"));
  });

  after(async () => {
    await Promise.all(workers.map((w) => stopProcess(w.proc, 1000)));
    await redis?.stop();
  });

  test("sharded sample through the queue equals the in-process run with the same seed and chunking, byte for byte", async () => {
    const r = await scoregen([...SAMPLE, "--score", score, "--redis", redis.url, "--out", join(dir, "queued.json")])
      .exited;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).shards, 6);
    assert.ok(
      (await readFile(join(dir, "queued.json"))).equals(reference),
      "queued output differs from the in-process output",
    );
    const ran = workers.flatMap((w) => [...w.out().matchAll(/done (\S+)\.(\d) /g)].map((m) => Number(m[2])));
    assert.deepEqual([...new Set(ran)].sort(), [0, 1, 2, 3, 4, 5]);
  });

  test("a worker killed mid-chunk: its chunk runs again on another worker and the output bytes are unchanged", async () => {
    const from = workers.map((w) => w.out().length);
    const cmd = scoregen([...SAMPLE, "--score", score, "--redis", redis.url, "--out", join(dir, "killed.json")]);
    const [victim, id] = await Promise.any(
      workers.map((w, k) => w.waitFor(/start (\S+) sample chunk/, from[k]).then((m) => [w, m[1]!] as const)),
    );
    victim.proc.kill("SIGKILL");
    const r = await cmd.exited;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      !victim.out().includes(`done ${id}`),
      "the victim finished its chunk before it was killed; the test did not kill mid-chunk",
    );
    const others = workers.filter((w) => w !== victim);
    assert.ok(
      others.some((w) => w.out().includes(`done ${id}`)),
      `chunk ${id} was not run again by another worker`,
    );
    assert.ok(
      (await readFile(join(dir, "killed.json"))).equals(reference),
      "output after a worker crash differs from the in-process output",
    );
  });

  test("sharded likelihood through the queue equals the in-process run with the same seed and chunking", async () => {
    const pts = join(dir, "points.json");
    await writeFile(
      pts,
      JSON.stringify([
        [-2, 0.1],
        [2.2, 1],
        [0.5, 0.5],
        [-1.5, -0.4],
        [1.8, 1.6],
      ]),
    );
    const args = [
      "likelihood",
      "--score",
      score,
      "--input",
      pts,
      "--divergence",
      "hutchinson",
      "--seed",
      "3",
      "--shards",
      "2",
      "--json",
    ];
    const [local, queued] = await Promise.all([
      scoregen(args).exited,
      scoregen([...args, "--redis", redis.url]).exited,
    ]);
    assert.equal(local.code, 0, local.stderr);
    assert.equal(queued.code, 0, queued.stderr);
    assert.equal(queued.stdout, local.stdout);
    assert.equal(JSON.parse(local.stdout).logp.length, 5);
  });

  test("a chunk that fails on every attempt fails the run with the chunk's error", async () => {
    const bad = [{ kind: "no-such-kind", chunk: 0 }] as unknown as ChunkJob[];
    await assert.rejects(
      queueRunner(redis.url, { attempts: 2, timeoutS: 10 })(bad),
      /chunk 0 of 1 failed after 2 attempts: unknown job kind 'no-such-kind'/,
    );
  });

  test("sweep: one training job per grid point on the workers, each into its subfolder, and a table of final loss and held-out NLL", async () => {
    const out = join(dir, "sweep");
    const r = await scoregen([
      "sweep",
      "--redis",
      redis.url,
      "--grid",
      '{"lr":[2e-3,5e-4],"batch":[32],"hidden":[8],"layers":[1]}',
      "--data",
      "moons",
      "--out",
      out,
      "--steps",
      "12",
      "--heldout",
      "20",
      "--json",
    ]).exited;
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as {
      lr: number;
      finalLoss: number;
      heldOutNll: number;
      trueNll: number;
      run: string;
      step: number;
    }[];
    assert.deepEqual(
      rows.map((x) => x.lr),
      [2e-3, 5e-4],
    );
    for (const row of rows) {
      assert.equal(row.run, join(out, `lr=${row.lr}_batch=32_hidden=8_layers=1`));
      const cfg = JSON.parse(await readFile(join(row.run, "config.json"), "utf8"));
      assert.equal(cfg.config.optimizer.lr, row.lr);
      const losses = (await readFile(join(row.run, "loss.csv"), "utf8"))
        .trim()
        .split("\n")
        .slice(1)
        .map((l) => Number(l.split(",")[1]));
      assert.equal(losses.length, 12);
      assert.ok(
        Math.abs(row.finalLoss - losses.reduce((a, b) => a + b, 0) / 12) < 1e-6,
        "final loss is not the mean of the run's logged losses",
      );
      assert.ok(
        Number.isFinite(row.heldOutNll) && row.trueNll > 1 && row.trueNll < 2.5,
        `NLL ${row.heldOutNll}, true ${row.trueNll}`,
      );
    }
    assert.deepEqual(JSON.parse(await readFile(join(out, "sweep.json"), "utf8")).results.length, 2);
  });

  test("Redis killed mid-run: the command fails with a clear message and writes no file", async () => {
    const out = join(dir, "lost.json");
    const live = workers.filter((w) => w.proc.exitCode === null && w.proc.signalCode === null);
    const cmd = scoregen([...SAMPLE, "--score", score, "--redis", redis.url, "--redis-timeout", "2", "--out", out]);
    const from = live.map((w) => w.out().length);
    await Promise.any(live.map((w, k) => w.waitFor(/start \S+ sample/, from[k])));
    redis.proc.kill("SIGKILL");
    await redis.stop();
    const r = await cmd.exited;
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^scoregen: error: lost the connection to Redis at redis:\/\/127\.0\.0\.1:\d+ .*nothing was written/m,
    );
    const left = (await readdir(dir)).filter((f) => f.includes("lost"));
    assert.deepEqual(left, [], "a partial or temporary output file was left behind");
  });

  test("Redis restarted without its data mid-run: the lost chunks are queued again and the output bytes are unchanged", async () => {
    redis = await startRedis(REDIS!, redis.port);
    const live = workers.filter((w) => w.proc.exitCode === null && w.proc.signalCode === null);
    const from = live.map((w) => w.out().length);
    const cmd = scoregen([
      ...SAMPLE,
      "--score",
      score,
      "--redis",
      redis.url,
      "--redis-timeout",
      "30",
      "--out",
      join(dir, "restarted.json"),
    ]);
    await Promise.any(live.map((w, k) => w.waitFor(/start \S+ sample/, from[k])));
    redis.proc.kill("SIGKILL");
    await redis.stop();
    redis = await startRedis(REDIS!, redis.port);
    const r = await cmd.exited;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      (await readFile(join(dir, "restarted.json"))).equals(reference),
      "output after a Redis restart differs from the in-process output",
    );
  });
});
