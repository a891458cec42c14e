/**
 * Benchmarks (not tests):
 *   npm run bench -- [--json] [--reps N] [--threads 1,2,max] [--only scorenet,mnist_em,…] [--vs-torch]
 *                    [--rounds K] [--torch-keep-env] [--lockstep [--pairs P]]
 * Prints the machine (CPU model, cores, Node, onnxruntime-node) and, per thread count, the
 * median ms of each workload (bench/workloads.ts) after warm-up. With --vs-torch the PyTorch
 * twins run in the same command with the same thread count (../shared/bench/torch_reference.py and
 * bench/torch_twins.py, by /usr/bin/python3 with Debian's python3-torch), and each row gets the
 * ratio scoregen / PyTorch. The two sides alternate K times (--rounds, default 3 with --vs-torch),
 * scoregen then PyTorch; each figure is the median of its K round medians, and the ratio column
 * shows the spread of the per-round ratios, so a slow spell of a shared machine hits both sides.
 * The PyTorch side runs at its fastest: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, which this
 * workplace may set for old OpenBLAS builds, are removed from its environment (--torch-keep-env
 * keeps them), and the header names the BLAS it loaded (bench/torch_env.py), warning when it is the
 * reference BLAS. With --lockstep (and --vs-torch) the step workloads (scorenet, mlp_train) are
 * instead timed one step at a time against a PyTorch server, alternating (bench/lockstep.ts), and
 * each ratio is the median of P per-pair ratios (--pairs, default 40) with its quartiles; the
 * end-to-end ScoreNet runs (mnist_em, mnist_bpd) take turns at every network evaluation, K times
 * after their warm-up (--rounds, default 1 here), each side counting only its own active time.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { nodeBackend } from "../src/engine/backend-node.ts";
import * as E from "../src/engine/index.ts";
import {
  LOCKSTEP_RUNS,
  LOCKSTEP_STEPS,
  type LockstepRow,
  type LockstepRunRow,
  runLockstep,
  runLockstepEnd2End,
  withTorchServer,
} from "./lockstep.ts";
import { medianMs, quantile, round } from "./timing.ts";
import { WORKLOADS, exportShared } from "./workloads.ts";

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    reps: { type: "string", default: "15" },
    threads: { type: "string", default: "2" },
    only: { type: "string" },
    "vs-torch": { type: "boolean", default: false },
    python: { type: "string", default: "/usr/bin/python3" },
    "torch-reference": { type: "string" },
    rounds: { type: "string" },
    "torch-keep-env": { type: "boolean", default: false },
    lockstep: { type: "boolean", default: false },
    pairs: { type: "string", default: "40" },
  },
});

/** ../shared/bench/torch_reference.py of the checkout, or of a folder above it (worktrees sit deeper). */
function torchReference(): string {
  if (values["torch-reference"]) return values["torch-reference"];
  for (let dir = dirname(here); dir !== dirname(dir); dir = dirname(dir)) {
    const p = join(dirname(dir), "shared/bench/torch_reference.py");
    if (existsSync(p)) return p;
  }
  throw new Error(
    "--vs-torch: found no shared/bench/torch_reference.py above this checkout; pass --torch-reference PATH",
  );
}

/** The machine, as /proc/cpuinfo (or os.cpus()) names it. */
function machine(): Record<string, string | number> {
  let cpu = cpus()[0]?.model ?? "unknown CPU";
  try {
    const info = readFileSync("/proc/cpuinfo", "utf8");
    cpu = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? cpu;
    const flags = /^flags\s*:\s*(.+)$/m.exec(info)?.[1]?.split(/\s+/) ?? [];
    const simd = ["avx512f", "avx2", "neon"].find((f) => flags.includes(f));
    // Virtual machines often report a bare "AMD EPYC": family/model/stepping tell the generation apart.
    const field = (k: string) => new RegExp(`^${k}\\s*:\\s*(\\d+)$`, "m").exec(info)?.[1];
    const id = ["cpu family", "model", "stepping"].map(field);
    const parts = [
      id.every((v) => v !== undefined) ? `family ${id[0]} model ${id[1]} stepping ${id[2]}` : "",
      simd ?? "",
    ];
    if (parts.some((p) => p)) cpu += ` (${parts.filter((p) => p).join("; ")})`;
  } catch {
    /* not Linux: os.cpus() names it */
  }
  const ortVersion = (
    JSON.parse(readFileSync(join(here, "../node_modules/onnxruntime-node/package.json"), "utf8")) as { version: string }
  ).version;
  return { cpu, cores: availableParallelism(), node: process.version, onnxruntime: ortVersion };
}

function threadCounts(spec: string): number[] {
  const all = availableParallelism();
  const list = spec.split(",").map((s) => (s.trim() === "max" ? all : Number(s)));
  for (const t of list)
    if (!Number.isInteger(t) || t < 1)
      throw new Error(`--threads: '${spec}' must list positive integers or 'max', e.g. --threads 1,2,max`);
  return [...new Set(list)];
}

const only = values.only?.split(",");
for (const name of only ?? [])
  if (!WORKLOADS[name])
    throw new Error(`--only: unknown workload '${name}'; use some of: ${Object.keys(WORKLOADS).join(", ")}`);
const baseReps = Math.max(15, Number(values.reps));
const pairs = Number(values.pairs);
if (values.lockstep) {
  if (!values["vs-torch"]) throw new Error("--lockstep compares with PyTorch: add --vs-torch");
  if (!Number.isInteger(pairs) || pairs < 1)
    throw new Error(`--pairs: '${values.pairs}' must be a positive integer, e.g. --pairs 40`);
  const able = [...Object.keys(LOCKSTEP_STEPS), ...LOCKSTEP_RUNS];
  const other = only?.filter((n) => !able.includes(n));
  if (other?.length)
    throw new Error(`--lockstep runs ${able.join(", ")} only; run ${other.join(", ")} without --lockstep`);
}
const rounds = Number(values.rounds ?? (values["vs-torch"] ? 3 : 1));
if (!Number.isInteger(rounds) || rounds < 1)
  throw new Error(`--rounds: '${values.rounds}' must be a positive integer, e.g. --rounds 3`);

/** The PyTorch side's environment: without this workplace's OpenBLAS overrides unless told to keep them. */
function torchEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (!values["torch-keep-env"]) {
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
  }
  return env;
}

/** scoregen medians: workload → metric → ms (plus the workload's facts). */
async function runScoregen(threads: number): Promise<Record<string, Record<string, number>>> {
  E.setBackend(nodeBackend({ threads }));
  E.clearProgramCache();
  const out: Record<string, Record<string, number>> = {};
  for (const [name, w] of Object.entries(WORKLOADS)) {
    if (only && !only.includes(name)) continue;
    const steps = await w.setup();
    const reps = w.reps ?? baseReps,
      warm = w.warm ?? (w.reps ? 1 : 3);
    const r: Record<string, number> = {};
    for (const [metric, fn] of Object.entries(steps)) r[`${metric}_ms`] = round(await medianMs(fn, reps, warm));
    out[name] = { ...r, ...(w.facts?.() ?? {}) };
    if (!values.json) console.error(`  scoregen ${name} ${JSON.stringify(out[name])}`);
  }
  return out;
}

/** PyTorch twins with the same thread count: workload → metric → ms. */
function runTorch(threads: number, sharedFile: string): Record<string, Record<string, number | string>> {
  const py = values.python!;
  const run = (script: string, extra: string[]) => {
    const text = execFileSync(py, [script, "--threads", String(threads), ...extra], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 1 << 24,
      env: torchEnv(),
    });
    return JSON.parse(text.trim().split("\n").at(-1)!) as Record<string, Record<string, number | string>>;
  };
  const out: Record<string, Record<string, number | string>> = {};
  const wantRef = !only || only.some((n) => n === "convnet" || n === "scorenet");
  if (wantRef) Object.assign(out, run(torchReference(), ["--reps", String(baseReps)]));
  const twins = ["mlp_train", "pc2d", "mnist_em", "mnist_bpd"].filter((n) => !only || only.includes(n));
  if (twins.length)
    Object.assign(
      out,
      run(join(here, "torch_twins.py"), [
        "--only",
        twins.join(","),
        "--shared",
        sharedFile,
        "--reps",
        String(baseReps),
      ]),
    );
  return out;
}

/** Lockstep pairs of the step workloads and turn-taking end-to-end runs (bench/lockstep.ts). */
async function lockstepRun(
  threads: number,
  sharedFile: string,
): Promise<{ steps: LockstepRow[]; runs: LockstepRunRow[] }> {
  E.setBackend(nodeBackend({ threads }));
  E.clearProgramCache();
  const wanted = (name: string) => !only || only.includes(name);
  const steps: Record<string, () => Promise<unknown>> = {};
  for (const [name, metrics] of Object.entries(LOCKSTEP_STEPS)) {
    if (!wanted(name)) continue;
    const fns = await WORKLOADS[name]!.setup();
    for (const m of metrics) steps[`${name}.${m}`] = fns[m]!;
  }
  const server = {
    python: values.python!,
    args: [join(here, "torch_twins.py"), "--serve", "--threads", String(threads), "--shared", sharedFile],
    env: torchEnv(),
  };
  const log = (l: string) => {
    if (!values.json) console.error(l);
  };
  const runs = LOCKSTEP_RUNS.filter(wanted);
  const { stepRows, runRows } = await withTorchServer(server, async (torch) => ({
    stepRows: Object.keys(steps).length ? await runLockstep(steps, torch, pairs, 3, log) : [],
    runRows: runs.length
      ? await runLockstepEnd2End(
          runs,
          async (name, wrap) => (await WORKLOADS[name]!.setup(wrap)).run!,
          torch,
          Number(values.rounds ?? 1),
          (name) => WORKLOADS[name]!.warm ?? 1,
          log,
        )
      : [],
  }));
  return { steps: stepRows, runs: runRows };
}

/** The BLAS PyTorch runs on (bench/torch_env.py), as one header line. */
function torchBlas(): { line: string; info: Record<string, unknown> } {
  const text = execFileSync(values.python!, [join(here, "torch_env.py")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    env: torchEnv(),
  });
  const info = JSON.parse(text.trim().split("\n").at(-1)!) as {
    torch: string;
    blas: string[];
    openblas_core: string | null;
    reference_blas: boolean;
  };
  const libs = info.blas.map((l) => l.split("/").at(-1)).join(", ");
  const core = info.openblas_core ? ` (OpenBLAS kernels: ${info.openblas_core})` : "";
  const env = values["torch-keep-env"] ? "" : " · OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset for it";
  let line = `PyTorch ${info.torch} on ${libs || "no BLAS library"}${core}${env}`;
  if (info.reference_blas)
    line += `\nwarning: PyTorch runs on the reference BLAS (Debian libblas3), several times slower than OpenBLAS; install libopenblas0-pthread for a fair comparison`;
  return { line, info };
}

/** Median of per-round figures, per workload and metric (numbers only; other facts from the first round). */
function combine<T extends Record<string, Record<string, number | string>>>(rs: T[]): T {
  const out: Record<string, Record<string, number | string>> = {};
  for (const [name, r] of Object.entries(rs[0]!)) {
    if (typeof r !== "object") {
      out[name] = r;
      continue;
    }
    out[name] = {};
    for (const [k, v] of Object.entries(r)) {
      const vs = rs.map((x) => x[name]?.[k]).filter((q): q is number => typeof q === "number");
      out[name]![k] = typeof v === "number" && k.endsWith("_ms") ? round(median(vs)) : v;
    }
  }
  return out as T;
}
const median = (a: number[]) => quantile(a, 0.5);

const info = machine();
const result: Record<string, unknown> = { ...info, reps: baseReps, rounds, runs: [] as unknown[] };
if (!values.json)
  console.log(`${info.cpu} · ${info.cores} cores available · Node ${info.node} · onnxruntime-node ${info.onnxruntime}`);
const tmp = values["vs-torch"] ? mkdtempSync(join(tmpdir(), "scoregen-bench-")) : undefined;
try {
  const shared = tmp ? join(tmp, "shared.safetensors") : "";
  if (tmp) {
    await exportShared(shared);
    const blas = torchBlas();
    result.torchBlas = blas.info;
    if (!values.json) console.log(blas.line);
  }
  for (const threads of threadCounts(values.threads!)) {
    if (values.lockstep) {
      const { steps: rows, runs } = await lockstepRun(threads, shared);
      (result.runs as unknown[]).push({ threads, lockstep: rows, lockstepRuns: runs });
      if (values.json) continue;
      console.log(`\n${threads} thread${threads > 1 ? "s" : ""}, lockstep with PyTorch`);
      console.log("| workload | scoregen ms | PyTorch ms | ratio |\n| --- | ---: | ---: | ---: |");
      for (const r of rows)
        console.log(
          `| ${r.step} | ${round(r.scoregenMs)} | ${round(r.torchMs)} | ${r.ratio[1].toFixed(2)} [${r.ratio[0].toFixed(2)}–${r.ratio[2].toFixed(2)}] |`,
        );
      for (const r of runs) {
        const ratios = r.scoregenMs.map((v, i) => (v / r.torchMs[i]!).toFixed(2));
        console.log(
          `| ${r.run}.run | ${round(median(r.scoregenMs))} | ${round(median(r.torchMs))} | ${ratios.join(", ")} |`,
        );
      }
      const how: string[] = [];
      if (rows.length) how.push(`steps: median of ${pairs} alternating pairs [quartiles] of the per-pair ratio`);
      if (runs.length) how.push("runs: turns at every network evaluation, one ratio per run (medians of active ms)");
      console.log(how.join("; "));
      continue;
    }
    const sRounds: Record<string, Record<string, number>>[] = [],
      tRounds: Record<string, Record<string, number | string>>[] = [];
    for (let r = 0; r < rounds; r++) {
      if (rounds > 1 && !values.json) console.error(`  round ${r + 1}/${rounds}`);
      sRounds.push(await runScoregen(threads));
      if (tmp) {
        const t = runTorch(threads, shared);
        tRounds.push(t);
        if (!values.json) console.error(`  torch ${JSON.stringify(t)}`);
      }
    }
    const scoregen = combine(sRounds);
    const torch = tmp ? combine(tRounds) : undefined;
    /** Per-round ratios of one metric: [min, max], or undefined with one round. */
    const spread = (name: string, metric: string) => {
      if (rounds < 2 || !tmp) return undefined;
      const q = sRounds.map((s, i) => Number(s[name]?.[metric]) / Number(tRounds[i]![name]?.[metric]));
      return q.every(Number.isFinite) ? [Math.min(...q), Math.max(...q)] : undefined;
    };
    (result.runs as unknown[]).push({
      threads,
      scoregen,
      ...(torch ? { torch } : {}),
      ...(rounds > 1 ? { rounds: { scoregen: sRounds, torch: tRounds } } : {}),
    });
    if (values.json) continue;
    console.log(
      `\n${threads} thread${threads > 1 ? "s" : ""}${torch ? `, vs ${torch.engine ?? "PyTorch"}` : ""}${rounds > 1 ? ` (median of ${rounds} alternating rounds)` : ""}`,
    );
    console.log(
      torch
        ? `| workload | scoregen ms | PyTorch ms | ratio${rounds > 1 ? " [per-round range]" : ""} |\n| --- | ---: | ---: | ---: |`
        : "| workload | scoregen ms |\n| --- | ---: |",
    );
    const notes: string[] = [];
    for (const [name, r] of Object.entries(scoregen)) {
      for (const [metric, v] of Object.entries(r)) {
        if (!metric.endsWith("_ms")) {
          const tv = torch?.[name]?.[metric];
          notes.push(`${name} ${metric}: ${v}${tv !== undefined ? ` (PyTorch ${tv})` : ""}`);
          continue;
        }
        const label = `${name}.${metric.slice(0, -3)}`;
        const tv = torch?.[name]?.[metric];
        if (!torch) {
          console.log(`| ${label} | ${v} |`);
          continue;
        }
        const sp = spread(name, metric);
        const ratio = typeof tv === "number" ? (v / tv).toFixed(2) : "–";
        console.log(
          `| ${label} | ${v} | ${tv ?? "–"} | ${ratio}${sp ? ` [${sp[0]!.toFixed(2)}–${sp[1]!.toFixed(2)}]` : ""} |`,
        );
      }
    }
    if (notes.length) console.log(notes.join("; "));
  }
} finally {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}
if (values.json) console.log(JSON.stringify(result));
