/**
 * Run folders: atomic step-numbered checkpoints (keep K, newest complete one loads), version-1
 * folders still load and resume, versions and shapes checked, locks, kinds, temporaries, loss.csv.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, readdir, rename, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { toy2d } from "../src/data/toy2d.ts";
import { CHECKPOINT_VERSION, listCheckpoints, loadCheckpoint, saveCheckpoint } from "../src/io/checkpoint.ts";
import { writeJsonAtomic, writeSafetensorsFile } from "../src/io/files.ts";
import { LOCK_NAME, acquireRunLock } from "../src/io/lock.ts";
import { lossRowsUpTo, openRunFolder } from "../src/io/run-folder.ts";
import type { SafeTensor } from "../src/io/safetensors.ts";
import { mlpSpec } from "../src/models/registry.ts";
import { memoryRunStore } from "../src/tasks/run-store.ts";
import { openScoreSource } from "../src/tasks/sources.ts";
import { type TrainConfig, train, unlabeled } from "../src/tasks/train.ts";
import { SCORE_RUN, loadRun, trainToFolder } from "../src/tasks/train-node.ts";
import { DivergenceMonitor } from "../src/tasks/divergence.ts";
import "../src/node.ts";

const tmp = () => mkdtemp(join(tmpdir(), "scoregen-ckpt-"));
const cfg = (over: Partial<TrainConfig> = {}): TrainConfig => ({
  model: mlpSpec(2, { hidden: 8, layers: 1 }),
  sde: "vp",
  objective: "dsm",
  batch: 16,
  seed: 1,
  optimizer: { kind: "adam", lr: 2e-3, warmup: 0, clipNorm: 1, emaDecay: 0.9 },
  data: { source: "moons" },
  ...over,
});
const moons = unlabeled(2, toy2d("moons").sample);

/** Writes a run folder the way scoregen wrote them before version 2 (model.safetensors + config.json at the top). */
async function writeVersion1(dir: string, c: TrainConfig, steps: number): Promise<void> {
  const store = memoryRunStore();
  await train(c, moons, { steps, store, checkpointEvery: steps });
  const ck = store.checkpoints.at(-1)!;
  const tensors = new Map<string, SafeTensor>();
  for (const [k, p] of ck.params) tensors.set(k, { dtype: "F32", shape: p.shape, data: p.data as Float32Array });
  for (const [k, t] of ck.extra)
    tensors.set(`extra/${k}`, { dtype: "F32", shape: t.shape, data: t.data as Float32Array });
  await writeSafetensorsFile(
    join(dir, "model.safetensors"),
    tensors,
    { format: "scoregen-checkpoint", version: "1", step: String(ck.step) },
    { mkdirs: true },
  );
  await writeJsonAtomic(join(dir, "config.json"), {
    format: "scoregen-checkpoint",
    version: 1,
    step: ck.step,
    config: c,
  });
  await writeFile(
    join(dir, "loss.csv"),
    `step,loss,grad_norm\n${store.losses.map((r) => `${r.step},${r.loss},${r.gradNorm}\n`).join("")}`,
  );
}

test("a checkpoint is one step-numbered file; the newest K are kept and the newest complete one loads even when the manifest lags", async () => {
  const dir = await tmp();
  const res = await trainToFolder(cfg(), moons, { steps: 7, outDir: dir, checkpointEvery: 1, keep: 3 });
  assert.deepEqual(
    (await listCheckpoints(dir)).map((c) => c.step),
    [7, 6, 5],
  );
  assert.deepEqual((await readdir(dir)).sort(), ["checkpoints", "config.json", "loss.csv"]);
  // A kill between the checkpoint's rename and the manifest's: step 8's file exists, config.json still says 7.
  const manifest = await readFile(join(dir, "config.json"), "utf8");
  await trainToFolder(cfg(), moons, { steps: 8, outDir: dir, resume: true, checkpointEvery: 1, keep: 3 });
  await writeFile(join(dir, "config.json"), manifest);
  const ck = await loadCheckpoint(dir);
  assert.equal(ck.step, 8);
  assert.equal(JSON.parse(manifest).step, 7);
  // the loaded parameters are those a straight 8-step run ends with
  const straight = await train(cfg(), moons, { steps: 8, store: memoryRunStore() });
  for (const [k, p] of straight.params) assert.deepEqual([...ck.params.get(k)!.data], [...p.data], k);
  assert.ok(res.step === 7);
});

test("a version-1 run folder (model.safetensors + config.json) loads for sampling and resumes exactly", async () => {
  const dir = await tmp();
  const old = join(dir, "old");
  await writeVersion1(old, cfg(), 5);
  const run = await loadRun(old);
  assert.equal(run.step, 5);
  const src = await openScoreSource(old);
  const s = await src.model.score(Float64Array.of(0.1, 0.2), Float64Array.of(0.5), 1);
  assert.ok(s.every(Number.isFinite));
  const resumed = await trainToFolder(cfg(), moons, { steps: 9, outDir: old, resume: true, checkpointEvery: 2 });
  const straight = await train(cfg(), moons, { steps: 9, store: memoryRunStore() });
  assert.deepEqual(resumed.losses, straight.losses.slice(5));
  assert.equal((await loadCheckpoint(old)).step, 9);
  const rows = (await readFile(join(old, "loss.csv"), "utf8")).trim().split("\n");
  assert.deepEqual(
    rows.slice(1).map((l) => Number(l.split(",")[0])),
    [1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  // the long MNIST run of the lead (version 1), when this machine has it: copy and load
  const mnist = "/work/runs/mnist-vp";
  if (
    await stat(join(mnist, "model.safetensors")).then(
      () => true,
      () => false,
    )
  ) {
    const copy = join(dir, "mnist");
    await cp(mnist, copy, { recursive: true });
    const m = await loadRun(copy).catch((e: Error) => (/inconsistent/.test(e.message) ? undefined : Promise.reject(e)));
    if (m) assert.deepEqual(m.cfg.model.dataShape, [1, 28, 28]);
  }
});

test("config versions are checked: a newer version is refused with the version named", async () => {
  const dir = await tmp();
  await writeVersion1(join(dir, "v1"), cfg(), 2);
  const path = join(dir, "v1", "config.json");
  const m = JSON.parse(await readFile(path, "utf8"));
  await writeFile(path, JSON.stringify({ ...m, version: 99 }));
  await assert.rejects(
    loadRun(join(dir, "v1")),
    /config\.json was written by a newer scoregen \(checkpoint version 99; this one reads up to 2\)/,
  );
  await trainToFolder(cfg(), moons, { steps: 2, outDir: join(dir, "v2"), checkpointEvery: 1 });
  const m2 = JSON.parse(await readFile(join(dir, "v2", "config.json"), "utf8"));
  await writeFile(join(dir, "v2", "config.json"), JSON.stringify({ ...m2, version: "x" }));
  await assert.rejects(loadRun(join(dir, "v2")), /version "x" is not a scoregen checkpoint version/);
  assert.equal(CHECKPOINT_VERSION, 2);
});

test("weights that do not match their config fail with one clear error listing the tensors", async () => {
  const dir = await tmp();
  await writeVersion1(dir, cfg(), 2);
  const path = join(dir, "config.json");
  const m = JSON.parse(await readFile(path, "utf8"));
  m.config.model.arch.hidden = 12;
  await writeFile(path, JSON.stringify(m));
  await assert.rejects(loadRun(dir), (e: Error) => {
    assert.match(e.message, /do not match the model its config describes/);
    assert.match(e.message, /expected \[12, \d+\], found \[8, \d+\]/);
    return true;
  });
});

test("opening a run folder removes temporaries of interrupted writes; a torn loss.csv is cut back to the checkpoint", async () => {
  const dir = await tmp();
  await trainToFolder(cfg(), moons, { steps: 4, outDir: dir, checkpointEvery: 2 });
  const stale = [
    join(dir, ".config.json.4242.0123456789ab.tmp"),
    join(dir, "checkpoints", ".step-00000006.safetensors.4242.0123456789ab.tmp"),
  ];
  for (const f of stale) await writeFile(f, "half");
  await writeFile(join(dir, "loss.csv"), `${await readFile(join(dir, "loss.csv"), "utf8")}5,0.5,1.0\n6,0.4`);
  const folder = await openRunFolder(dir, { kind: SCORE_RUN });
  assert.deepEqual(
    folder.removedTemporaries.sort(),
    [
      ".config.json.4242.0123456789ab.tmp",
      join("checkpoints", ".step-00000006.safetensors.4242.0123456789ab.tmp"),
    ].sort(),
  );
  await folder.startLossLog(4);
  await folder.close();
  const lines = (await readFile(join(dir, "loss.csv"), "utf8")).split("\n");
  assert.deepEqual(
    lines.map((l) => l.split(",")[0]),
    ["step", "1", "2", "3", "4", ""],
  );
  assert.deepEqual(lossRowsUpTo("step,a,b\n1,2,3\n2,3,4\n3,4", 9), ["1,2,3", "2,3,4"]);
});

test("a run folder is locked: a second writer is refused naming the holder; a dead holder's lock is taken over", async () => {
  const dir = await tmp();
  const a = await openRunFolder(dir, { kind: SCORE_RUN, command: "scoregen train" });
  await assert.rejects(
    openRunFolder(dir, { kind: SCORE_RUN }),
    new RegExp(`is in use by scoregen train \\(pid ${process.pid} on `),
  );
  await a.close();
  // a lock left by a process that no longer runs
  const child = spawn(process.execPath, ["-e", ""]);
  const deadPid = await new Promise<number>((res) => child.on("exit", () => res(child.pid!)));
  await writeFile(
    join(dir, LOCK_NAME),
    JSON.stringify({
      pid: deadPid,
      hostname: (await import("node:os")).hostname(),
      command: "scoregen train",
      since: "then",
    }),
  );
  const lock = await acquireRunLock(dir, "test");
  assert.equal(JSON.parse(await readFile(join(dir, LOCK_NAME), "utf8")).pid, process.pid);
  await lock.release();
  await assert.rejects(stat(join(dir, LOCK_NAME)), /ENOENT/);
});

test("a folder holding one kind of run is refused by a command writing another kind", async () => {
  const dir = await tmp();
  await saveCheckpoint(dir, {
    params: new Map([["w", { shape: [1], data: Float32Array.of(1) }]]),
    config: { kind: "mnist-classifier" },
    step: 1,
  });
  await assert.rejects(
    trainToFolder(cfg(), moons, { steps: 1, outDir: dir }),
    /holds a MNIST classifier \(step 1\); writing a score-model training run there would destroy it/,
  );
  const run = join(dir, "run");
  await trainToFolder(cfg(), moons, { steps: 1, outDir: run });
  await assert.rejects(
    openRunFolder(run, { kind: "mnist-classifier" }),
    /holds a score-model training run \(step 1\); writing a MNIST classifier there/,
  );
  await assert.rejects(
    trainToFolder(cfg(), moons, { steps: 2, outDir: run }),
    /already holds a training run; pass --resume to continue it \(from step 1\)/,
  );
  await rename(run, join(dir, "moved"));
});

test("divergence watch: warns once when the average loss stays far above its best, not on noise or NaN-free descent", () => {
  const m = new DivergenceMonitor(10, 3);
  const warnings: string[] = [];
  for (let s = 1; s <= 100; s++) {
    const w = m.push(s, 1 / s + 0.1 * Math.sin(s));
    if (w) warnings.push(w);
  }
  assert.equal(warnings.length, 0, "a decreasing, noisy loss warned");
  for (let s = 101; s <= 140; s++) {
    const w = m.push(s, 50);
    if (w) warnings.push(w);
  }
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0]!,
    /may be diverging: its average over the last 10 steps is 50\.00 at step \d+, far above its best/,
  );
});

test("divergence watch of a resumed run: its first (trained) batch loss is no baseline", () => {
  const trace = (fromScratch: boolean) => {
    const m = new DivergenceMonitor(10, 3, fromScratch);
    // the first batch happens to be easy (loss 1); the rest is ordinary noise around 2
    const ws = [m.push(1, 1)];
    for (let s = 2; s <= 200; s++) ws.push(m.push(s, 2 + 0.5 * Math.sin(s)));
    return ws.filter(Boolean);
  };
  assert.equal(trace(false).length, 0, "a resumed run warned against its first batch");
  assert.equal(trace(true).length, 1, "from scratch, a loss that never falls below the first should warn");
});

test("training with too large a learning rate warns through onWarning (finite loss, no NaN); a sane one does not", async () => {
  const run = async (lr: number) => {
    const warnings: string[] = [];
    const r = await train(cfg({ seed: 0, optimizer: { kind: "adam", lr, warmup: 100, clipNorm: 1 } }), moons, {
      steps: 600,
      onWarning: (w) => warnings.push(w),
    });
    assert.ok(r.losses.every(Number.isFinite));
    return warnings;
  };
  const bad = await run(10);
  assert.ok(bad.length >= 1, "expected a divergence warning for lr 10");
  assert.match(bad[0]!, /may be diverging: .*lower the learning rate/);
  assert.deepEqual(await run(2e-3), []);
});
