/**
 * Crash safety of `scoregen train` end to end: SIGKILL at random moments, SIGTERM/SIGINT/SIGHUP,
 * a second writer, a full disk. The oracle for "nothing lost" is exact resumption: a run that was
 * killed and resumed any number of times ends with the loss curve of an uninterrupted run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toy2d } from "../src/data/toy2d.ts";
import { listCheckpoints, loadCheckpoint } from "../src/io/checkpoint.ts";
import { type FileSystem, isAtomicTempName, nodeFs } from "../src/io/files.ts";
import { LOCK_NAME } from "../src/io/lock.ts";
import { mlpSpec } from "../src/models/registry.ts";
import { Rng } from "../src/rng.ts";
import { memoryRunStore } from "../src/tasks/run-store.ts";
import { type TrainConfig, train, unlabeled } from "../src/tasks/train.ts";
import { loadRun, trainToFolder } from "../src/tasks/train-node.ts";
import "../src/node.ts";

const MAIN = join(import.meta.dirname, "..", "src", "cli", "main.ts");
const TINY = ["--data", "moons", "--batch", "16", "--hidden", "8", "--layers", "1", "--warmup", "10", "--json"];
const tmp = () => mkdtemp(join(tmpdir(), "scoregen-crash-"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The config `scoregen train` builds from TINY (to run the same training in-process). */
const tinyConfig = (steps: number): TrainConfig => ({
  model: mlpSpec(2, { hidden: 8, layers: 1 }),
  sde: "vp",
  objective: "dsm",
  batch: 16,
  seed: 0,
  optimizer: { kind: "adam", lr: 2e-3, warmup: 10, clipNorm: 1, emaDecay: 0.999 },
  data: { source: "moons" },
  schedule: { steps, checkpointEvery: 1, keep: 2 },
});
const moons = unlabeled(2, toy2d("moons").sample);

/** loss.csv rows of an uninterrupted in-process run of the TINY settings. */
async function straightRows(steps: number): Promise<string[]> {
  const store = memoryRunStore();
  await train(tinyConfig(steps), moons, { steps, store });
  return store.losses.map((r) => `${r.step},${r.loss},${r.gradNorm}`);
}

function start(
  args: string[],
): ChildProcess & { done: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
    env: { ...process.env, SCOREGEN_DEBUG: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "",
    stderr = "";
  child.stdout!.on("data", (d) => {
    stdout += d;
  });
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((res) =>
    child.on("close", (code, signal) => res({ code, signal, stdout, stderr })),
  );
  return Object.assign(child, { done });
}

/** Rows of loss.csv (its header checked; every line complete). */
async function lossRows(dir: string): Promise<string[]> {
  const text = await readFile(join(dir, "loss.csv"), "utf8").catch(() => "");
  if (text === "") return [];
  assert.ok(text.endsWith("\n"), "loss.csv ends in a torn line");
  const lines = text.slice(0, -1).split("\n");
  assert.equal(lines[0], "step,loss,grad_norm");
  for (const l of lines.slice(1)) assert.match(l, /^\d+,-?[\d.e+-]+,[\d.e+-]+$/, `torn loss.csv line '${l}'`);
  return lines.slice(1);
}

async function temporaries(dir: string): Promise<string[]> {
  const top = (await readdir(dir).catch(() => [] as string[])).filter(isAtomicTempName);
  const sub = (await readdir(join(dir, "checkpoints")).catch(() => [] as string[]))
    .filter(isAtomicTempName)
    .map((n) => join("checkpoints", n));
  return [...top, ...sub];
}

/** The number of rows in loss.csv, 0 if none (polled while a child trains). */
async function rowCount(dir: string): Promise<number> {
  const text = await readFile(join(dir, "loss.csv"), "utf8").catch(() => "");
  return Math.max(0, text.split("\n").length - 2);
}

async function waitFor(cond: () => Promise<boolean>, child: ChildProcess, what: string, ms = 120_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (child.exitCode !== null) throw new Error(`the child exited (${child.exitCode}) before ${what}`);
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(15);
  }
}

test("SIGKILL at 20 random moments of a checkpoint-every-step run: every kill leaves a loadable, resumable run, no temporaries survive the next start, and the final loss curve equals an uninterrupted run's", async (t) => {
  const dir = join(await tmp(), "run");
  const rng = new Rng(2024);
  let lastStep = 0,
    tempsSeen = 0,
    earlyKills = 0;
  for (let k = 0; k < 20; k++) {
    const before = await temporaries(dir);
    tempsSeen += before.length;
    const child = start([
      "train",
      "--out",
      dir,
      "--steps",
      "100000",
      "--checkpoint-every",
      "1",
      ...TINY,
      ...(k > 0 ? ["--resume"] : []),
    ]);
    const early = rng.uniform() < 0.2;
    if (early) {
      earlyKills++;
      await sleep(rng.uniform() * 1500);
    } else {
      const rows0 = await rowCount(dir);
      // training has restarted (the log is cut back to the checkpoint, then grows past it) …
      await waitFor(
        async () =>
          (await stat(join(dir, "checkpoints")).then(
            () => true,
            () => false,
          )) && (await rowCount(dir)) > Math.min(rows0, lastStep) + 2,
        child,
        "training progress",
      );
      // … then a random moment: inside a step, the loss append, the checkpoint or the manifest write
      await sleep(rng.uniform() * 60);
    }
    child.kill("SIGKILL");
    const r = await child.done;
    assert.equal(r.signal, "SIGKILL", `run ${k} ended on its own: ${r.stderr}`);
    if (!early) {
      const survivors = (await temporaries(dir)).filter((n) => before.includes(n));
      assert.deepEqual(survivors, [], `kill ${k}: temporaries of an earlier kill survived the next start`);
    }
    const has = (await listCheckpoints(dir)).length > 0;
    if (!has) {
      assert.ok(early || k === 0, `kill ${k} left no checkpoint`);
      continue;
    }
    const run = await loadRun(dir);
    assert.ok(run.step >= lastStep, `kill ${k}: the checkpoint went back from step ${lastStep} to ${run.step}`);
    for (const p of run.params.values()) assert.ok(p.data.every(Number.isFinite));
    lastStep = run.step;
    const rows = await lossRows(dir);
    assert.ok(
      rows.length >= run.step - 1,
      `kill ${k}: loss.csv has ${rows.length} rows but the checkpoint is at step ${run.step}`,
    );
  }
  assert.ok(lastStep > 0, "no kill came after a checkpoint");
  const final = lastStep + 3;
  const r = await start([
    "train",
    "--out",
    dir,
    "--steps",
    String(final),
    "--checkpoint-every",
    "1",
    ...TINY,
    "--resume",
  ]).done;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).step, final);
  assert.deepEqual(await temporaries(dir), [], "temporaries survived the final run");
  assert.ok((await listCheckpoints(dir)).length <= 2, "more than --keep-checkpoints 2 checkpoints kept");
  await assert.rejects(stat(join(dir, LOCK_NAME)), /ENOENT/, "the lock outlived the run");
  assert.deepEqual(
    await lossRows(dir),
    await straightRows(final),
    "the killed-and-resumed loss curve differs from an uninterrupted run's",
  );
  t.diagnostic(
    `20 SIGKILLs (${earlyKills} during start-up), ${tempsSeen} temporaries left by kills and removed by the next start; final step ${final}`,
  );
});

test("SIGTERM, SIGINT and SIGHUP save a checkpoint and exit 143, 130 and 129; meanwhile a second writer is refused with a clear error", async () => {
  const root = await tmp();
  const cases = [
    ["SIGTERM", 143],
    ["SIGINT", 130],
    ["SIGHUP", 129],
  ] as const;
  await Promise.all(
    cases.map(async ([sig, code]) => {
      const dir = join(root, sig);
      const child = start(["train", "--out", dir, "--steps", "100000", "--checkpoint-every", "100000", ...TINY]);
      await waitFor(async () => (await rowCount(dir)) >= 15, child, "15 training steps");
      if (sig === "SIGTERM") {
        for (const extra of [[], ["--resume"]]) {
          const second = await start(["train", "--out", dir, "--steps", "50", ...TINY, ...extra]).done;
          assert.equal(second.code, 1, second.stderr);
          assert.match(
            second.stderr,
            new RegExp(
              `scoregen: error: ${dir.replace(/[/\\.]/g, "\\$&")} is in use by scoregen train \\(pid ${child.pid} on `,
            ),
          );
        }
      }
      child.kill(sig);
      const r = await child.done;
      assert.equal(r.code, code, `${sig}: exit ${r.code} ${r.signal} ${r.stderr}`);
      const summary = JSON.parse(r.stdout);
      assert.equal(summary.stopped, true);
      assert.equal(summary.signal, sig);
      const ck = await loadCheckpoint(dir);
      assert.equal(ck.step, summary.step, `${sig}: the checkpoint is not the step it stopped at`);
      assert.ok(ck.step >= 15);
      assert.equal((await lossRows(dir)).length, ck.step);
      await assert.rejects(stat(join(dir, LOCK_NAME)), /ENOENT/);
    }),
  );
});

test("a second signal exits at once with the first signal's code; the run stays loadable and resumable", async () => {
  const dir = join(await tmp(), "run");
  const child = start(["train", "--out", dir, "--steps", "100000", "--checkpoint-every", "3", ...TINY]);
  await waitFor(async () => (await rowCount(dir)) >= 10, child, "10 training steps");
  child.kill("SIGTERM");
  child.kill("SIGTERM");
  const r = await child.done;
  assert.equal(r.code, 143, r.stderr);
  const run = await loadRun(dir);
  assert.ok(run.step >= 9);
  const resumed = await start([
    "train",
    "--out",
    dir,
    "--steps",
    String(run.step + 2),
    "--checkpoint-every",
    "3",
    ...TINY,
    "--resume",
  ]).done;
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(await temporaries(dir), []);
});

/** A file system whose writes fail with ENOSPC once `budget` bytes have been written (for machines without tmpfs). */
function fullDiskFs(budget: number): FileSystem {
  let left = budget;
  const enospc = (path: string) =>
    Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: "ENOSPC", syscall: "write", path });
  return {
    ...nodeFs,
    open: (async (path: string, flags?: string, mode?: number) => {
      const h = await nodeFs.open(path, flags, mode);
      return new Proxy(h, {
        get(target, prop) {
          if (prop === "write") {
            return async (buf: Uint8Array, off = 0, len = buf.length - off) => {
              const n = Math.min(len, Math.max(0, left));
              left -= n;
              if (n > 0) await target.write(buf, off, n);
              if (n < len) throw enospc(String(path));
              return { bytesWritten: n, buffer: buf };
            };
          }
          const v = Reflect.get(target, prop, target) as unknown;
          return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      }) as FileHandle;
    }) as FileSystem["open"],
  };
}

/** After a disk-full failure: the checkpoint before it loads, loss.csv has only whole rows, and resuming ends like an uninterrupted run. */
async function checkAfterDiskFull(dir: string, resume: () => Promise<number>): Promise<void> {
  const ck = await loadCheckpoint(dir);
  assert.ok(ck.step >= 5, `the checkpoint went back to step ${ck.step}`);
  const rows = await lossRows(dir);
  assert.ok(rows.length >= ck.step);
  const final = await resume();
  assert.deepEqual(await lossRows(dir), await straightRows(final));
  assert.deepEqual(await temporaries(dir), []);
}

test("disk full (simulated ENOSPC through the file-system layer): the previous checkpoint stays intact, loss.csv untorn, the error names the file", async () => {
  const dir = join(await tmp(), "run");
  await trainToFolder(tinyConfig(5), moons, { steps: 5, outDir: dir, checkpointEvery: 1 });
  const failures: string[] = [];
  // budgets from the actual sizes: fail in the first loss-log append, in the first checkpoint file, in the first manifest
  for (const where of ["loss", "checkpoint", "manifest"] as const) {
    const size = async (f: string) => (await stat(join(dir, f))).size;
    const log = await size("loss.csv"),
      ckpt = (await stat((await listCheckpoints(dir))[0]!.path)).size,
      row = 20;
    const budget = log + (where === "loss" ? row : where === "checkpoint" ? 80 + ckpt / 2 : 80 + ckpt + 50);
    await assert.rejects(
      trainToFolder(tinyConfig(100000), moons, {
        steps: 100000,
        outDir: dir,
        resume: true,
        checkpointEvery: 1,
        fs: fullDiskFs(budget),
      }),
      (e: Error) => {
        assert.match(
          e.message,
          /^could not (write|append to) .*(loss\.csv|step-\d+\.safetensors|config\.json) \(ENOSPC\): no space left on the device holding .*; free some space/,
        );
        failures.push(e.message.replace(/ \(ENOSPC\).*/, "").replace(dir, "DIR"));
        return true;
      },
    );
    await checkAfterDiskFull(dir, async () => {
      const s = (await loadCheckpoint(dir)).step + 2;
      await trainToFolder(tinyConfig(s), moons, { steps: s, outDir: dir, resume: true, checkpointEvery: 1 });
      return s;
    });
  }
  assert.deepEqual(
    failures.map((f) => f.replace(/\d+/g, "N")),
    [
      "could not append to DIR/loss.csv",
      "could not write DIR/checkpoints/step-N.safetensors",
      "could not write DIR/config.json",
    ],
  );
});

/** Mount a small tmpfs (root only); undefined where that is not allowed (containers, CI). */
function mountTmpfs(dir: string, bytes: number): boolean {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", dir], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

test("disk full on a real tmpfs (skipped where mounting one is not allowed): scoregen train fails with one line naming the file, the checkpoint and loss.csv survive", async (t) => {
  const root = await tmp();
  const mnt = join(root, "mnt");
  await mkdir(mnt);
  if (!mountTmpfs(mnt, 256 * 1024)) {
    t.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN); the simulated ENOSPC test covers this");
    return;
  }
  try {
    const dir = join(mnt, "run");
    await trainToFolder(tinyConfig(5), moons, { steps: 5, outDir: dir, checkpointEvery: 1 });
    // fill the disk, then give back a little room: enough to start, not enough to run for long
    const filler = join(mnt, "filler");
    await writeFile(filler, Buffer.alloc(1 << 20)).catch(() => undefined);
    const size = (await stat(filler)).size;
    await rm(filler);
    await writeFile(filler, Buffer.alloc(Math.max(0, size - 16 * 1024)));
    const r = await start(["train", "--out", dir, "--steps", "100000", "--checkpoint-every", "1", ...TINY, "--resume"])
      .done;
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /^scoregen: error: could not (write|append to|create the lock|write to the folder) .* \(ENOSPC\): no space left on the device holding .*; free some space/,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    await rm(filler);
    await checkAfterDiskFull(dir, async () => {
      const s = (await loadCheckpoint(dir)).step + 2;
      const ok = await start([
        "train",
        "--out",
        dir,
        "--steps",
        String(s),
        "--checkpoint-every",
        "1",
        ...TINY,
        "--resume",
      ]).done;
      assert.equal(ok.code, 0, ok.stderr);
      return s;
    });
  } finally {
    execFileSync("umount", [mnt], { stdio: "ignore" });
  }
});
