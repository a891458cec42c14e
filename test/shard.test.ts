/**
 * Sharded work without Redis: chunking, the exact float64 payload, and that chunk i of a sharded
 * run is exactly the existing task run on chunk i's rows with the stream Rng(seed).fork(i).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { logLikelihood } from "../src/likelihood/index.ts";
import { mixtureOracle } from "../src/oracle/index.ts";
import { Rng } from "../src/rng.ts";
import type { AnySamplerOptions } from "../src/sampling/registry.ts";
import { sdeByName } from "../src/sde/index.ts";
import { sampleByName } from "../src/tasks/sample.ts";
import {
  chunkRanges,
  inProcessRunner,
  likelihoodSharded,
  packF64,
  sampleSharded,
  unpackF64,
} from "../src/tasks/shard.ts";
import { SHARD_MIXTURE } from "./helpers/mixtures.ts";

async function oracleFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "scoregen-shard-unit-"));
  await writeFile(join(dir, "mix.json"), JSON.stringify(SHARD_MIXTURE));
  return `oracle:${join(dir, "mix.json")}`;
}

test("chunkRanges covers every row once, sizes differ by at most one, and bad shard counts are refused", () => {
  assert.deepEqual(chunkRanges(10, 3), [
    { start: 0, count: 4 },
    { start: 4, count: 3 },
    { start: 7, count: 3 },
  ]);
  assert.deepEqual(
    chunkRanges(5, 5).map((r) => r.count),
    [1, 1, 1, 1, 1],
  );
  assert.throws(() => chunkRanges(3, 4), /cannot split 3 rows into 4 shards/);
  assert.throws(() => chunkRanges(3, 0), /positive integer/);
});

test("packF64/unpackF64 keep every bit (negative zero, subnormals, extremes)", () => {
  const a = Float64Array.of(-0, 5e-324, Number.MAX_VALUE, -1 / 3, Math.PI, 1e-300);
  const b = unpackF64(packF64(a));
  assert.deepEqual(new Uint8Array(b.buffer), new Uint8Array(a.buffer));
  assert.throws(() => unpackF64("AAAA"), /not a multiple of 8/);
});

test("sharded sampling: chunk i is sampleByName on its rows with Rng(seed).fork(i); merged in order; chunking matters", async () => {
  const score = await oracleFile(),
    sde = sdeByName("vp");
  const req = { score, sde: "vp", sampler: "em", options: { steps: 50 } as AnySamplerOptions, n: 10, seed: 4 };
  const merged = await sampleSharded(req, 3, inProcessRunner);
  const oracle = mixtureOracle(SHARD_MIXTURE, sde);
  const parts = [];
  for (const [i, { count }] of chunkRanges(10, 3).entries())
    parts.push(
      ...(
        await sampleByName(oracle, sde, "em", {
          n: count,
          seed: 4,
          rng: new Rng(4).fork(i),
          options: { steps: 50 } as AnySamplerOptions,
        })
      ).x,
    );
  assert.deepEqual(Array.from(merged.x), parts);
  assert.equal(merged.nfe, 3 * 50);
  const two = await sampleSharded(req, 2, inProcessRunner);
  assert.notDeepEqual(Array.from(two.x), Array.from(merged.x));
  const again = await sampleSharded(req, 3, inProcessRunner);
  assert.deepEqual(again.x, merged.x);
});

test("sharded likelihood: per-chunk log p equals logLikelihood on the chunk, and matches the oracle's exact log-density", async () => {
  const score = await oracleFile(),
    sde = sdeByName("vp");
  const oracle = mixtureOracle(SHARD_MIXTURE, sde);
  const points = oracle.sampleData(new Rng(9), 6);
  const r = await likelihoodSharded(
    { score, sde: "vp", points, n: 6, seed: 1, options: { divergence: "exact", rtol: 1e-8, atol: 1e-8 } },
    2,
    inProcessRunner,
  );
  const first = await logLikelihood(oracle, sde, points.subarray(0, 6), 3, {
    divergence: "exact",
    rtol: 1e-8,
    atol: 1e-8,
    rng: new Rng(1).fork(0),
  });
  assert.deepEqual(Array.from(r.logp.subarray(0, 3)), Array.from(first.logp));
  const exact = oracle.logProb(points, 1e-5, 6);
  // the prior approximation p_T ≈ N(0, I) dominates the error (see likelihood.test.ts); the ODE itself is exact to 2e-3
  for (let i = 0; i < 6; i++)
    assert.ok(Math.abs(r.logp[i]! - exact[i]!) < 0.03, `point ${i}: ${r.logp[i]} vs exact ${exact[i]}`);
  assert.equal(r.z.length, 12);
});
