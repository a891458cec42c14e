/** Image score models through the engine: size, a training run that learns, exact resume, labels. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import "../src/node.ts";
import * as E from "../src/engine/index.ts";
import { EngineNetwork } from "../src/models/network.ts";
import { ncsnppSpec, scoreNetSpec, traceNetwork } from "../src/models/registry.ts";
import { Rng } from "../src/rng.ts";
import { sdeByName } from "../src/sde/index.ts";
import { openTrainData } from "../src/tasks/sources.ts";
import { type TrainConfig, train } from "../src/tasks/train.ts";
import { trainToFolder } from "../src/tasks/train-node.ts";

const tiny = (classes?: number) => scoreNetSpec({ channels: [4, 8, 8, 8], embed: 16 }, { classes });
const cfgFor = (spec: ReturnType<typeof tiny>, seed = 0): TrainConfig => ({
  model: spec,
  sde: "vp",
  objective: "dsm",
  batch: 8,
  seed,
  optimizer: { kind: "adam", lr: 3e-3, warmup: 0, clipNorm: 1, emaDecay: 0.9 },
  data: { source: "mnist" },
});

test("the tutorial ScoreNet has exactly the PyTorch reference's 1,115,297 trainable parameters", () => {
  const ps = E.ParamScope.create();
  const out = traceNetwork(scoreNetSpec(), ps, E.input("x", [2, 1, 28, 28]), E.input("c", [2]));
  assert.deepEqual(out.shape, [2, 1, 28, 28]);
  const count = ps
    .specs()
    .filter((s) => s.trainable)
    .reduce((a, s) => a + s.shape.reduce((p, d) => p * d, 1), 0);
  assert.equal(count, 1115297);
});

test("a tiny ScoreNet trained on MNIST digits lowers its denoising loss", async () => {
  const data = await openTrainData("mnist");
  const res = await train(cfgFor(tiny()), data, { steps: 80 });
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const first = mean(res.losses.slice(0, 10)),
    last = mean(res.losses.slice(-10));
  assert.ok(last < 0.5 * first, `loss ${first.toFixed(1)} → ${last.toFixed(1)}`);
});

test("resuming an image run from its checkpoint reproduces the uninterrupted loss curve exactly", async () => {
  const dir = await mkdtemp(join(tmpdir(), "scoregen-resume-"));
  const data = await openTrainData("mnist", { flip: true });
  const cfg = cfgFor(tiny(), 5);
  await trainToFolder(cfg, data, { steps: 6, outDir: join(dir, "a"), checkpointEvery: 3 });
  const resumed = await trainToFolder(cfg, data, { steps: 10, outDir: join(dir, "a"), resume: true });
  const straight = await trainToFolder(cfg, data, { steps: 10, outDir: join(dir, "b") });
  assert.deepEqual(resumed.losses, straight.losses.slice(6));
  assert.equal(await readFile(join(dir, "a", "loss.csv"), "utf8"), await readFile(join(dir, "b", "loss.csv"), "utf8"));
});

test("class-conditional ScoreNet: labels reach the network, and a missing label is an error", async () => {
  const data = await openTrainData("mnist");
  assert.equal(data.classes, 10);
  const res = await train(cfgFor(tiny(10)), data, { steps: 3 });
  const sde = sdeByName("vp");
  assert.throws(
    () => new EngineNetwork(tiny(10), res.params, sde),
    /class-conditional \(10 classes\): give a class label per sample/,
  );
  const x = new Rng(1).normals(2 * 784) as Float64Array,
    t = Float64Array.of(0.5, 0.5);
  const out3 = await new EngineNetwork(tiny(10), res.params, sde, Int32Array.of(3, 3)).forward(x, t, 2);
  const out7 = await new EngineNetwork(tiny(10), res.params, sde, Int32Array.of(7, 3)).forward(x, t, 2);
  const diff = (a: Float64Array, b: Float64Array, lo: number, hi: number) => {
    let m = 0;
    for (let i = lo; i < hi; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
    return m;
  };
  assert.ok(diff(out3, out7, 0, 784) > 1e-4, "changing the label did not change the output");
  assert.equal(diff(out3, out7, 784, 1568), 0, "a row's output depends on another row's label");
});

test("the NCSN++-style residual U-Net (attention at the lowest resolution) keeps shapes and learns", async () => {
  const spec = ncsnppSpec([1, 28, 28], { channels: [8, 16], embed: 16 });
  const ps = E.ParamScope.create();
  const out = traceNetwork(spec, ps, E.input("x", [3, 1, 28, 28]), E.input("c", [3]));
  assert.deepEqual(out.shape, [3, 1, 28, 28]);
  assert.ok(
    ps.specs().some((s) => s.name.includes("attn")),
    "no attention layer",
  );
  const res = await train({ ...cfgFor(spec), batch: 4 }, await openTrainData("mnist"), { steps: 60 });
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(
    mean(res.losses.slice(-10)) < 0.7 * mean(res.losses.slice(0, 10)),
    `loss ${mean(res.losses.slice(0, 10)).toFixed(1)} → ${mean(res.losses.slice(-10)).toFixed(1)}`,
  );
});

test("ScoreNet's GroupNorm group counts are the tutorial's: 4, 32, 32, 32, 32, 32, 32", () => {
  const ps = E.ParamScope.create();
  const out = traceNetwork(scoreNetSpec(), ps, E.input("x", [1, 1, 28, 28]), E.input("c", [1]));
  const groups: number[] = [];
  const seen = new Set<number>();
  const visit = (t: E.Tensor) => {
    if (seen.has(t.id)) return;
    seen.add(t.id);
    t.inputs.forEach(visit);
    if (t.op === "groupNorm" || t.op === "groupNormalize") groups.push(t.attrs.groups as number);
  };
  visit(out);
  assert.deepEqual(groups, [4, 32, 32, 32, 32, 32, 32]);
});

test("--dequantize: training images get fresh uniform noise inside their 8-bit bins", async () => {
  const plain = await openTrainData("mnist"),
    deq = await openTrainData("mnist", { dequantize: true });
  const a = plain.sample(4, new Rng(2)).x,
    b = deq.sample(4, new Rng(2)).x;
  let moved = 0;
  for (let i = 0; i < a.length; i++) {
    const bin = Math.round((a[i]! + 1) * 127.5); // the 8-bit value of the clean pixel
    assert.ok(
      b[i]! >= (2 * bin) / 256 - 1 - 1e-6 && b[i]! <= (2 * (bin + 1)) / 256 - 1 + 1e-6,
      `pixel ${i}: ${b[i]} outside the bin of ${bin}`,
    );
    if (b[i] !== a[i]) moved++;
  }
  assert.ok(moved > 0.99 * a.length, "dequantization left pixels unchanged");
});
