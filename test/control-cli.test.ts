/** Controllable generation on the command line: images and points end to end, and one-line errors. */
import assert from "node:assert/strict";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { PNG } from "pngjs";
import "../src/node.ts";
import { toGray } from "../src/controllable/index.ts";
import { colorDigits } from "../src/data/colored-digits.ts";
import { loadMnist } from "../src/data/images.ts";
import { decodeNpy, encodeNpy } from "../src/io/npy.ts";
import { scoreNetSpec } from "../src/models/registry.ts";
import { openTrainData } from "../src/tasks/sources.ts";
import { trainToFolder } from "../src/tasks/train-node.ts";
import { cli } from "./helpers/cli.ts";
import { MIRRORED_PAIR } from "./helpers/mixtures.ts";

/** A one-step run of a tiny ScoreNet on `data` (enough to exercise the commands). */
async function tinyRun(dir: string, data: string, extra: object = {}): Promise<string> {
  const d = await openTrainData(data);
  const out = join(dir, data.replace(/\W/g, ""));
  await trainToFolder(
    {
      model: scoreNetSpec({ channels: [4, 8, 8, 8], embed: 16, inChannels: d.images!.c }, extra),
      sde: "vp",
      objective: "dsm",
      optimizer: { kind: "adam", lr: 1e-3 },
      batch: 2,
      seed: 0,
      data: { source: data },
    },
    d,
    { steps: 1, outDir: out },
  );
  return out;
}

function assertOneLineError(r: { code: number; stderr: string }, re: RegExp, what: string): void {
  assert.equal(r.code, 1, `${what}: exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `${what}: one line, got ${r.stderr}`);
  assert.match(lines[0]!, re, what);
}

test("mnist-color is deterministic, keeps labels, and colors digit and background differently", async () => {
  const gray = await loadMnist({ split: "test", limit: 20, range: "[-1,1]" });
  const a = colorDigits(gray, "[-1,1]"),
    b = colorDigits(gray, "[-1,1]");
  assert.deepEqual(a.data, b.data);
  assert.equal(a.c, 3);
  assert.deepEqual(a.labels, gray.labels);
  assert.ok(a.data.every((v) => v >= -1 - 1e-6 && v <= 1 + 1e-6));
  const p = 784,
    i = 0,
    fgPix = gray.data.subarray(0, p).indexOf(Math.max(...gray.data.subarray(0, p)));
  const fg = [0, 1, 2].map((c) => a.data[c * p + fgPix]!),
    bg = [0, 1, 2].map((c) => a.data[c * p + i]!);
  assert.ok(Math.hypot(fg[0]! - bg[0]!, fg[1]! - bg[1]!, fg[2]! - bg[2]!) > 0.5, `digit ${fg} vs background ${bg}`);
});

test("inpaint (with reconstruction guidance) and colorize images: known pixels and the gray channel are kept; .npy and PNG written", async () => {
  const dir = await mkdtemp(join(tmpdir(), "scoregen-ctl-"));
  const gray = await tinyRun(dir, "mnist"),
    color = await tinyRun(dir, "mnist-color");
  const digits = await loadMnist({ split: "test", limit: 2 });
  await writeFile(join(dir, "in.npy"), encodeNpy(digits.data, [2, 1, 28, 28]));
  const r = await cli([
    "inpaint",
    "--score",
    gray,
    "--input",
    join(dir, "in.npy"),
    "--mask",
    "top-half",
    "--n-per-input",
    "2",
    "--steps",
    "5",
    "--reconstruction",
    "2",
    "--out",
    join(dir, "inp.png"),
    "--npy",
    join(dir, "inp.npy"),
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /replacement method \+ reconstruction guidance 2/);
  const x = decodeNpy(await readFile(join(dir, "inp.npy")));
  assert.deepEqual(x.shape, [4, 1, 28, 28]);
  for (let k = 0; k < 4; k++)
    for (let j = 0; j < 14 * 28; j++)
      assert.equal(x.data[k * 784 + j], digits.data[Math.floor(k / 2) * 784 + j], `completion ${k}, pixel ${j}`);
  assert.ok(
    x.data.some((v, j) => j % 784 >= 14 * 28 && v !== digits.data[Math.floor(j / 784 / 2) * 784 + (j % 784)]),
    "unknown pixels are generated",
  );
  assert.ok(PNG.sync.read(await readFile(join(dir, "inp.png"))).width > 100);

  // a gray PNG in, colorings out: gray (channel mean) equals the input to float32 precision
  const png = new PNG({ width: 28, height: 28 });
  for (let j = 0; j < 784; j++) {
    const v = Math.round(((digits.data[j]! + 1) / 2) * 255);
    png.data.set([v, v, v, 255], 4 * j);
  }
  await writeFile(join(dir, "gray.png"), PNG.sync.write(png));
  const c = await cli([
    "colorize",
    "--score",
    color,
    "--input",
    join(dir, "gray.png"),
    "--n-per-input",
    "2",
    "--steps",
    "5",
    "--sampler",
    "em",
    "--out",
    join(dir, "col.npy"),
  ]);
  assert.equal(c.code, 0, c.stderr);
  const y = decodeNpy(await readFile(join(dir, "col.npy")));
  assert.deepEqual(y.shape, [2, 3, 28, 28]);
  const g = toGray(y.data, 2, 28, 28);
  for (let j = 0; j < 2 * 784; j++) {
    const i = Math.floor(j / 784),
      q = j % 784,
      mag = Math.max(1, ...[0, 1, 2].map((c) => Math.abs(y.data[(i * 3 + c) * 784 + q]!)));
    assert.ok(
      Math.abs(g[j]! - ((2 * png.data[4 * q]!) / 255 - 1)) < 2e-7 * mag,
      `gray pixel ${j}: ${g[j]} vs ${(2 * png.data[4 * q]!) / 255 - 1} (float32 file, channel magnitude ${mag})`,
    );
  }

  // bad input: a mask of another size, a gray model for colorize, the --cfg weight on an unconditional model
  await writeFile(join(dir, "mask.npy"), encodeNpy(new Float32Array(27 * 27).fill(1), [27, 27]));
  assertOneLineError(
    await cli([
      "inpaint",
      "--score",
      gray,
      "--input",
      join(dir, "in.npy"),
      "--mask",
      join(dir, "mask.npy"),
      "--out",
      join(dir, "x.png"),
    ]),
    /--mask .*mask.npy has shape \[27, 27\] but the images are \[1, 28, 28\]/,
    "mask shape",
  );
  assertOneLineError(
    await cli([
      "inpaint",
      "--score",
      gray,
      "--input",
      join(dir, "in.npy"),
      "--mask",
      "top-half",
      "--reconstruction",
      "-1",
      "--out",
      join(dir, "x.png"),
    ]),
    /--reconstruction/,
    "negative reconstruction weight",
  );
  assertOneLineError(
    await cli(["colorize", "--score", gray, "--input", join(dir, "gray.png"), "--out", join(dir, "x.png")]),
    /colorize needs a model of RGB images/,
    "colorize gray model",
  );
  assertOneLineError(
    await cli(["sample", "--score", gray, "--cfg", "1", "--class", "3", "--n", "2", "--out", join(dir, "x.png")]),
    /--cfg needs a class-conditional model trained with label dropout/,
    "cfg unconditional",
  );
});

test("classifier guidance and classifier-free guidance on the command line; mismatches are one-line errors", async () => {
  const dir = await mkdtemp(join(tmpdir(), "scoregen-ctl-"));
  const spec = join(dir, "mix.json"),
    spec3 = join(dir, "mix3.json");
  await writeFile(spec, JSON.stringify(MIRRORED_PAIR));
  await writeFile(spec3, JSON.stringify({ weights: [1], means: [[0, 0, 0]], stds: [[1, 1, 1]] }));
  const clf = join(dir, "clf");
  const t = await cli([
    "classifier",
    "--noise-conditional",
    "--sde",
    "ve",
    "--data",
    `oracle:${spec}`,
    "--steps",
    "5",
    "--out",
    clf,
  ]);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /noise-conditional classifier \(ve, 2 classes\)/);
  assertOneLineError(
    await cli([
      "sample",
      "--score",
      `oracle:${spec}`,
      "--sde",
      "vp",
      "--classifier",
      clf,
      "--class",
      "0",
      "--out",
      join(dir, "a.json"),
    ]),
    /trained for the ve SDE but the score model uses vp/,
    "SDE mismatch",
  );
  assertOneLineError(
    await cli([
      "sample",
      "--score",
      `oracle:${spec3}`,
      "--sde",
      "ve",
      "--classifier",
      clf,
      "--class",
      "0",
      "--out",
      join(dir, "a.json"),
    ]),
    /takes data of shape \[2\] but the score model's data has shape \[3\]/,
    "shape mismatch",
  );
  assertOneLineError(
    await cli([
      "sample",
      "--score",
      `oracle:${spec}`,
      "--classifier",
      "oracle",
      "--class",
      "2",
      "--out",
      join(dir, "a.json"),
    ]),
    /--class 2 is out of range: the classifier knows classes 0 to 1/,
    "class range",
  );
  const ok = await cli([
    "sample",
    "--score",
    `oracle:${spec}`,
    "--sde",
    "ve",
    "--classifier",
    clf,
    "--class",
    "1",
    "--scale",
    "1",
    "--n",
    "20",
    "--steps",
    "20",
    "--out",
    join(dir, "g.json"),
  ]);
  assert.equal(ok.code, 0, ok.stderr);

  // classifier-free guidance: w = 0 equals plain conditional sampling bit for bit
  const cond = join(dir, "cond");
  const tr = await cli([
    "train",
    "--data",
    "mnist",
    "--conditional",
    "--label-dropout",
    "0.2",
    "--steps",
    "1",
    "--batch",
    "2",
    "--out",
    cond,
  ]);
  assert.equal(tr.code, 0, tr.stderr);
  const a = await cli([
    "sample",
    "--score",
    cond,
    "--class",
    "3",
    "--cfg",
    "0",
    "--n",
    "2",
    "--sampler",
    "em",
    "--steps",
    "3",
    "--out",
    join(dir, "a.npy"),
  ]);
  const b = await cli([
    "sample",
    "--score",
    cond,
    "--class",
    "3",
    "--n",
    "2",
    "--sampler",
    "em",
    "--steps",
    "3",
    "--out",
    join(dir, "b.npy"),
  ]);
  const w = await cli([
    "sample",
    "--score",
    cond,
    "--class",
    "3",
    "--cfg",
    "2",
    "--n",
    "2",
    "--sampler",
    "em",
    "--steps",
    "3",
    "--out",
    join(dir, "w.npy"),
  ]);
  assert.equal(a.code + b.code + w.code, 0, a.stderr + b.stderr + w.stderr);
  const [xa, xb, xw] = await Promise.all(["a", "b", "w"].map(async (f) => readFile(join(dir, `${f}.npy`))));
  assert.deepEqual(xa, xb);
  assert.notDeepEqual(xw, xb);
  assertOneLineError(
    await cli(["sample", "--score", cond, "--class", "10", "--cfg", "1", "--n", "2", "--out", join(dir, "x.npy")]),
    /--class 10 is out of range: the model knows classes 0 to 9/,
    "cfg class range",
  );
  assertOneLineError(
    await cli(["train", "--data", "mnist", "--label-dropout", "0.2", "--steps", "1", "--out", join(dir, "r")]),
    /--label-dropout needs --conditional/,
    "dropout without conditional",
  );
});
