/**
 * Hostile and edge input on the command line: every case exits 1 with one line naming the flag or
 * path and the fix, writes nothing, and prints no stack trace (or, for inputs help promises, works).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";
import { writeIdxFile } from "../src/data/idx.ts";
import { Rng } from "../src/rng.ts";
import { mixtureOracle } from "../src/oracle/index.ts";
import { getSampler } from "../src/sampling/registry.ts";
import { sdeByName } from "../src/sde/index.ts";
import { checkDistinct, checkExtension, checkMemory } from "../src/cli/validate.ts";
import { numberOpt, seedOpt } from "../src/cli/errors.ts";
import { describeFsError } from "../src/io/fs-errors.ts";
import { cli } from "./helpers/cli.ts";
import { CLI_MIXTURE } from "./helpers/mixtures.ts";

const TINY = ["--batch", "16", "--hidden", "8", "--layers", "1", "--json"];

/**
 * Runs the cases `parallel` at a time (1 when cases share a run folder: each command locks it); each
 * must exit 1 with its message and no stack trace.
 */
async function expectErrors(cases: [string[], RegExp][], parallel = 2): Promise<void> {
  for (let i = 0; i < cases.length; i += parallel) {
    await Promise.all(
      cases.slice(i, i + parallel).map(async ([args, re]) => {
        const r = await cli(args);
        assert.equal(r.code, 1, `${args.join(" ")} exited ${r.code}: ${r.stderr}`);
        assert.match(r.stderr, re, args.join(" "));
        assert.doesNotMatch(r.stderr, /\n\s+at /, `stack trace printed for ${args.join(" ")}`);
        assert.equal(r.stderr.trim().split("\n").length, 1, `more than one line for ${args.join(" ")}: ${r.stderr}`);
      }),
    );
  }
}

test("outputs: extensions must match the format, two outputs (or an output and an input) may not be one file, sizes that cannot be allocated are refused by flag, seeds and times by range", async () => {
  const dir = await mkdtemp(join(tmpdir(), "scoregen-hostile-"));
  const spec = join(dir, "mix.json"),
    pts = join(dir, "x.json");
  await writeFile(spec, JSON.stringify(CLI_MIXTURE));
  await writeFile(
    pts,
    JSON.stringify([
      [0, 0],
      [1, 1],
    ]),
  );
  const o = `oracle:${spec}`;
  await expectErrors([
    [
      ["plot", "field", "--score", o, "--out", join(dir, "f.jpg")],
      /--out must end in \.png or \.svg \(the formats it can write\), got '.*f\.jpg'/,
    ],
    [
      ["sample", "--score", o, "--n", "5", "--out", join(dir, "s.json"), "--gif", join(dir, "g.png")],
      /--gif must end in \.gif/,
    ],
    [
      ["sample", "--score", o, "--n", "5", "--out", join(dir, "s.png"), "--trajectories", join(dir, "s.png")],
      /--trajectories .*s\.png is the same file as --out; writing it would overwrite that output/,
    ],
    [["sample", "--score", o, "--out", pts, "--from", pts], /--out .*x\.json is the same file as the input --from/],
    [
      ["likelihood", "--score", o, "--input", pts, "--latent", pts],
      /--latent .*x\.json is the same file as the input --input/,
    ],
    [
      ["sample", "--score", o, "--n", "1e12", "--out", join(dir, "s.json")],
      /--n 1000000000000 is too large: 1000000000000 samples of dimension 2 would need .*; use a smaller --n/,
    ],
    [
      ["plot", "field", "--score", o, "--grid", "100000", "--out", join(dir, "f.png")],
      /--grid 100000 is too large: .*; use a smaller --grid/,
    ],
    [
      ["train", "--data", "moons", "--out", join(dir, "r"), "--batch", "1e10", "--steps", "1"],
      /--batch 10000000000 is too large: a training batch of 10000000000 would need/,
    ],
    [
      ["sample", "--score", o, "--seed", "1e30", "--out", join(dir, "s.json")],
      /--seed must be an integer ≥ 0 and ≤ 9007199254740991, got '1e30'/,
    ],
    [
      ["plot", "field", "--score", o, "--t", "7", "--out", join(dir, "f.png")],
      /--t must be a number ≥ 0\.001 and ≤ 1, got '7'/,
    ],
    [
      [
        "sample",
        "--score",
        o,
        "--sampler",
        "pc",
        "--snr",
        "1e9",
        "--steps",
        "50",
        "--n",
        "20",
        "--out",
        join(dir, "s.json"),
      ],
      /PC sampler: samples became absurdly large .* the sampler diverged/,
    ],
    [
      ["train", "--data", "moons", "--out", join(dir, "r"), "--lr", "NaN"],
      /--lr must be a number > 0 and ≤ 1000, got 'NaN'/,
    ],
  ]);
  assert.deepEqual((await readdir(dir)).sort(), ["mix.json", "x.json"], "a refused command wrote files");
});

test("folders: --out that is a file or lies under a file, another kind of run, empty data, a flat PNG folder trains", async () => {
  const dir = await mkdtemp(join(tmpdir(), "scoregen-hostile-"));
  const file = join(dir, "file.txt");
  await writeFile(file, "x");
  const run = join(dir, "run");
  const r0 = await cli(["train", "--data", "moons", "--out", run, "--steps", "2", ...TINY]);
  assert.equal(r0.code, 0, r0.stderr);
  const empty = join(dir, "empty-idx3-ubyte");
  await writeIdxFile(empty, { dtype: "u8", shape: [0, 28, 28], data: new Uint8Array(0) });
  await expectErrors(
    [
      [
        ["train", "--data", "moons", "--out", file, "--steps", "1"],
        /file\.txt is a file, not a folder; choose a folder for the run/,
      ],
      [
        ["train", "--data", "moons", "--out", join(file, "sub"), "--steps", "1"],
        /could not create the folder .*file\.txt\/sub \(ENOTDIR\): a part of .* is a file, not a folder/,
      ],
      [
        ["classifier", "--out", run, "--steps", "1"],
        /run already holds a score-model training run \(step 2\); choose another --out/,
      ],
      [["train", "--data", empty, "--out", join(dir, "r2"), "--steps", "1"], /empty-idx3-ubyte holds no images/],
      [
        ["train", "--data", "moonz", "--out", run, "--steps", "4", "--resume", "--lr", "0.01", "--seed", "3", ...TINY],
        /--resume: these options differ from the run in .*run: --data moonz \(the run has moons\); --seed 3 \(the run has 0\); --lr 0\.01 \(the run has 0\.002; to change it pass --allow-change lr\)/,
      ],
      [
        [
          "train",
          "--data",
          "moons",
          "--out",
          run,
          "--steps",
          "4",
          "--resume",
          "--seed",
          "3",
          "--allow-change",
          "seed",
          ...TINY,
        ],
        /--allow-change seed: only lr, warmup, clip, ema, checkpoint-every, keep-checkpoints may change/,
      ],
    ],
    1,
  );
  // an allowed change goes through and is recorded
  const r1 = await cli([
    "train",
    "--data",
    "moons",
    "--out",
    run,
    "--steps",
    "4",
    "--resume",
    "--lr",
    "0.01",
    "--allow-change",
    "lr",
    ...TINY,
  ]);
  assert.equal(r1.code, 0, r1.stderr);
  assert.equal(JSON.parse(await readFile(join(run, "config.json"), "utf8")).config.optimizer.lr, 0.01);
  // help offers "a folder of PNG images": a flat folder trains as unlabeled images
  const pngs = join(dir, "pngs");
  await mkdir(pngs);
  for (let k = 0; k < 3; k++) {
    const png = new PNG({ width: 28, height: 28 });
    for (let i = 0; i < 28 * 28; i++) png.data.set([k * 80, k * 80, k * 80, 255], 4 * i);
    await writeFile(join(pngs, `${k}.png`), PNG.sync.write(png));
  }
  const r2 = await cli(["train", "--data", pngs, "--out", join(dir, "img"), "--steps", "1", "--batch", "2", "--json"]);
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(JSON.parse(r2.stdout).step, 1);
});

test("samplers stop with a clear error when the state becomes absurd (|x| > 1e6 × prior std), not only on NaN", async () => {
  const sde = sdeByName("vp");
  const oracle = mixtureOracle({ weights: [1], means: [[0, 0]], stds: [[0.5, 0.5]] }, sde);
  await assert.rejects(
    getSampler("pc").run(oracle, sde, { n: 10, rng: new Rng(1), steps: 40, snr: 1e9 }),
    /samples became absurdly large \(.* beyond 1e\+6 = 1e\+6 × the prior std\)/,
  );
  const ok = await getSampler("pc").run(oracle, sde, { n: 10, rng: new Rng(1), steps: 40 });
  assert.ok(ok.x.every((v) => Math.abs(v) < 10));
});

test("flag and file-system helpers: ranges by name, extensions, distinct paths, memory, errno messages with the path and the fix", () => {
  assert.throws(() => numberOpt("--x", "", {}), /--x must be a number, got ''/);
  assert.throws(() => numberOpt("--lr", "0", { min: 0, minExclusive: true }), /--lr must be a number > 0/);
  assert.throws(() => seedOpt("--seed", "9007199254740993"), /--seed must be an integer/);
  assert.equal(seedOpt("--seed", "12"), 12);
  assert.equal(checkExtension("--out", "a/B.PNG", [".png"]), ".png");
  assert.throws(
    () => checkExtension("--out", "x.jpg", [".json", ".csv", ".png"]),
    /--out must end in \.json, \.csv or \.png/,
  );
  assert.throws(
    () => checkDistinct({ "--out": "a/../b.png", "--gif": "b.png" }),
    /--gif b\.png is the same file as --out/,
  );
  checkDistinct({ "--out": "a.png", "--gif": undefined, "--trajectories": "t.png" });
  assert.throws(
    () => checkMemory("--n", 5, "five things", 2 ** 60),
    /--n 5 is too large: five things would need one array of .* GiB, more than the .* an array may hold; use a smaller --n/,
  );
  const e = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", path: "/d/loss.csv" });
  assert.equal(
    describeFsError(e),
    "could not access /d/loss.csv (ENOSPC): no space left on the device holding /d/loss.csv; free some space (or choose a location on another disk) and run again",
  );
  assert.match(
    describeFsError(Object.assign(new Error("x"), { code: "EACCES" }), "/ro/out", "create the folder"),
    /could not create the folder \/ro\/out \(EACCES\): permission denied for \/ro\/out; choose a location you may write to/,
  );
  assert.match(
    describeFsError(Object.assign(new Error("x"), { code: "EEXIST" }), "/a/b"),
    /already exists and is in the way/,
  );
});
