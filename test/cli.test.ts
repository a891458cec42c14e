/** The command line end to end: outputs, resume, and one-line errors with a non-zero exit. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mixtureOracle } from "../src/oracle/index.ts";
import { sdeByName } from "../src/sde/index.ts";
import { cli } from "./helpers/cli.ts";
import { CLI_MIXTURE } from "./helpers/mixtures.ts";

const tmp = () => mkdtemp(join(tmpdir(), "scoregen-cli-"));

test("train writes a run folder; --resume continues it exactly as an uninterrupted run", async () => {
  const dir = await tmp();
  const a = join(dir, "a"),
    b = join(dir, "b");
  const common = [
    "--data",
    "moons",
    "--batch",
    "64",
    "--hidden",
    "16",
    "--layers",
    "1",
    "--checkpoint-every",
    "10",
    "--json",
  ];
  const r1 = await cli(["train", "--out", a, "--steps", "20", ...common]);
  assert.equal(r1.code, 0, r1.stderr);
  assert.equal(JSON.parse(r1.stdout).step, 20);
  assert.deepEqual((await readdir(a)).sort(), ["checkpoints", "config.json", "loss.csv"]);
  const again = await cli(["train", "--out", a, "--steps", "30", ...common]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already holds a training run; pass --resume/);
  // --resume needs no --data or other settings: the run folder holds them
  const r2 = await cli(["train", "--out", a, "--steps", "30", "--resume", "--json"]);
  assert.equal(r2.code, 0, r2.stderr);
  assert.doesNotMatch(r2.stderr, /diverging/);
  assert.equal(JSON.parse(r2.stdout).step, 30);
  const r3 = await cli(["train", "--out", b, "--steps", "30", ...common]);
  assert.equal(r3.code, 0, r3.stderr);
  const resumed = (await readFile(join(a, "loss.csv"), "utf8")).trim().split("\n");
  const straight = (await readFile(join(b, "loss.csv"), "utf8")).trim().split("\n");
  assert.equal(resumed.length, 31);
  assert.deepEqual(resumed, straight, "the resumed run's loss curve differs from the uninterrupted one");
  const noData = await cli(["train", "--out", join(dir, "c"), "--steps", "5"]);
  assert.equal(noData.code, 1);
  assert.match(noData.stderr, /--data is required/);
  const noRun = await cli(["train", "--out", join(dir, "d"), "--steps", "5", "--resume"]);
  assert.equal(noRun.code, 1);
  assert.match(noRun.stderr, /holds no training run yet; pass --data/);
});

test("sample from an oracle writes the requested points (.json, .csv, .png) and reports nfe", async () => {
  const dir = await tmp();
  const spec = join(dir, "mix.json");
  await writeFile(spec, JSON.stringify(CLI_MIXTURE));
  const r = await cli([
    "sample",
    "--score",
    `oracle:${spec}`,
    "--sde",
    "vp",
    "--sampler",
    "ode",
    "--n",
    "300",
    "--seed",
    "3",
    "--out",
    join(dir, "s.json"),
    "--json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const pts = JSON.parse(await readFile(join(dir, "s.json"), "utf8")) as number[][];
  assert.equal(pts.length, 300);
  assert.ok(pts.every((p) => p.length === 2 && p.every(Number.isFinite)));
  const meanX = pts.reduce((s, p) => s + p[0]!, 0) / pts.length;
  assert.ok(Math.abs(meanX - (0.4 * -1 + 0.6 * 1.5)) < 0.15, `sample mean x ${meanX}`);
  assert.ok(JSON.parse(r.stdout).nfe > 10);
  const png = await cli([
    "sample",
    "--score",
    `oracle:${spec}`,
    "--sampler",
    "em",
    "--steps",
    "50",
    "--n",
    "100",
    "--out",
    join(dir, "s.png"),
    "--gif",
    join(dir, "s.gif"),
  ]);
  assert.equal(png.code, 0, png.stderr);
  assert.deepEqual([...(await readFile(join(dir, "s.png"))).subarray(1, 4)], [0x50, 0x4e, 0x47]);
  assert.equal((await readFile(join(dir, "s.gif"))).subarray(0, 6).toString(), "GIF89a");
  const csv = await cli([
    "sample",
    "--score",
    `oracle:${spec}`,
    "--sampler",
    "ddim",
    "--n",
    "5",
    "--out",
    join(dir, "s.csv"),
  ]);
  assert.equal(csv.code, 0, csv.stderr);
  assert.equal(
    (await readFile(join(dir, "s.csv"), "utf8"))
      .trim()
      .split("\n")
      .filter((l) => /^-?\d/.test(l)).length,
    5,
  );
});

test("likelihood --json with the oracle matches the exact log-density", async () => {
  const dir = await tmp();
  const spec = join(dir, "mix.json"),
    input = join(dir, "x.json");
  await writeFile(spec, JSON.stringify(CLI_MIXTURE));
  const x = [
    [-1, 0.1],
    [1.4, 0.6],
    [0.2, -0.3],
  ];
  await writeFile(input, JSON.stringify(x));
  const r = await cli(["likelihood", "--score", `oracle:${spec}`, "--sde", "subvp", "--input", input, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { logp: number[]; bpd: number[]; nfe: number };
  const exact = mixtureOracle(CLI_MIXTURE, sdeByName("subvp")).logProb(Float64Array.from(x.flat()), 1e-5, 3);
  out.logp.forEach((v, i) =>
    assert.ok(Math.abs(v - exact[i]!) < 0.03 + 0.002 * Math.abs(exact[i]!), `point ${i}: ${v} vs ${exact[i]}`),
  );
  out.bpd.forEach((b, i) => assert.ok(Math.abs(b + out.logp[i]! / (2 * Math.LN2)) < 1e-9));
  assert.ok(out.nfe > 0);
});

test("bad input: one clear line naming the problem, exit code 1, no stack trace", async () => {
  const dir = await tmp();
  const spec = join(dir, "mix.json");
  await writeFile(spec, JSON.stringify(CLI_MIXTURE));
  const cases: [string[], RegExp][] = [
    [
      ["sample", "--score", `oracle:${spec}`, "--sampler", "magic", "--out", join(dir, "a.json")],
      /unknown sampler "magic"; use one of em, pc, ald, ancestral, ode, ddim/,
    ],
    [
      ["sample", "--score", `oracle:${spec}`, "--sampler", "ode", "--snr", "0.1", "--out", join(dir, "a.json")],
      /--snr does not apply to the ode sampler/,
    ],
    [
      ["sample", "--score", `oracle:${join(dir, "nope.json")}`, "--out", join(dir, "a.json")],
      /cannot read oracle spec .*nope\.json/,
    ],
    [
      ["sample", "--score", join(dir, "no-run"), "--out", join(dir, "a.json")],
      /no training run at .*no-run: pass a folder written by `scoregen train --out DIR`/,
    ],
    [
      ["sample", "--score", `oracle:${spec}`, "--n", "-3", "--out", join(dir, "a.json")],
      /--n must be an integer ≥ 1, got '-3'/,
    ],
    [
      ["sample", "--score", `oracle:${spec}`, "--out", join(dir, "a.txt")],
      /--out must end in \.json, \.csv, \.png or \.npy/,
    ],
    [["train", "--data", "spirals", "--out", join(dir, "r")], /unknown data 'spirals'/],
    [
      ["train", "--data", "moons", "--loss", "magic", "--out", join(dir, "r2")],
      /unknown loss 'magic'; use one of: dsm/,
    ],
    [["likelihood", "--score", `oracle:${spec}`, "--input", join(dir, "missing.json")], /missing\.json/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(args);
    assert.equal(r.code, 1, `${args.join(" ")} exited ${r.code}`);
    assert.match(r.stderr, re);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `stack trace printed for ${args.join(" ")}`);
  }
  assert.deepEqual((await readdir(dir)).sort(), ["mix.json"], "a failed command left files behind");
});

test("encode with likelihood --latent, decode with sample --from --sampler ode: the points come back", async () => {
  const dir = await tmp();
  const spec = join(dir, "mix.json"),
    input = join(dir, "x.json"),
    z = join(dir, "z.json"),
    back = join(dir, "back.json");
  await writeFile(spec, JSON.stringify(CLI_MIXTURE));
  const x = [
    [-1.2, 0.3],
    [1.1, 0.9],
    [0.4, -0.2],
  ];
  await writeFile(input, JSON.stringify(x));
  const enc = await cli([
    "likelihood",
    "--score",
    `oracle:${spec}`,
    "--sde",
    "vp",
    "--input",
    input,
    "--latent",
    z,
    "--eps",
    "1e-3",
  ]);
  assert.equal(enc.code, 0, enc.stderr);
  const dec = await cli([
    "sample",
    "--score",
    `oracle:${spec}`,
    "--sde",
    "vp",
    "--sampler",
    "ode",
    "--eps",
    "1e-3",
    "--from",
    z,
    "--out",
    back,
  ]);
  assert.equal(dec.code, 0, dec.stderr);
  const got = JSON.parse(await readFile(back, "utf8")) as number[][];
  const zs = JSON.parse(await readFile(z, "utf8")) as number[][];
  assert.ok(
    zs.some((p, i) => Math.hypot(p[0]! - x[i]![0]!, p[1]! - x[i]![1]!) > 0.5),
    "the latents equal the inputs: nothing was encoded",
  );
  got.forEach((p, i) =>
    assert.ok(Math.hypot(p[0]! - x[i]![0]!, p[1]! - x[i]![1]!) < 1e-3, `point ${i}: ${p} vs ${x[i]}`),
  );
});
