/**
 * Per-op-class profile of benchmark workloads with ORT's profiler:
 *   npm run bench:profile -- [--only scorenet] [--steps train,sample,div] [--reps 10] [--threads 2] [--json]
 *                            [--nodes N]
 * Each step's program gets its own profiled session (files under out/profile/); the first
 * `--warm` runs are dropped and kernel times are summed per op class over the remaining runs.
 * Under CPU contention absolute times are noisy, but the fractions per op class are meaningful.
 * --nodes N also lists the N slowest nodes of each program (ms per run, op, output shapes).
 */
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { nodeBackend } from "../src/engine/backend-node.ts";
import * as E from "../src/engine/index.ts";
import { WORKLOADS } from "./workloads.ts";

/** ORT op type → the class reported. */
const OP_CLASS: Record<string, string> = {
  Conv: "Conv",
  FusedConv: "Conv",
  ConvTranspose: "ConvTranspose",
  MatMul: "Gemm/MatMul",
  Gemm: "Gemm/MatMul",
  FusedMatMul: "Gemm/MatMul",
  FusedGemm: "Gemm/MatMul",
  ReorderInput: "NCHWc reorder",
  ReorderOutput: "NCHWc reorder",
  QuickGelu: "elementwise",
  Gather: "Gather",
  ScatterND: "Scatter",
  DepthToSpace: "DepthToSpace",
  Transpose: "Transpose",
  Pad: "Pad",
  Slice: "Slice",
  Concat: "Concat",
  Where: "Where",
  InstanceNormalization: "norm",
  GroupNormalization: "norm",
  LayerNormalization: "norm",
  ReduceSum: "reduce",
  ReduceMean: "reduce",
  ReduceMax: "reduce",
  Reshape: "shape",
  Expand: "shape",
  Unsqueeze: "shape",
  Squeeze: "shape",
  Identity: "shape",
  Cast: "shape",
};
const opClass = (op: string) => OP_CLASS[op] ?? "elementwise";

interface TraceEvent {
  cat: string;
  name: string;
  ts: number;
  dur: number;
  args?: { op_name?: string; output_type_shape?: Record<string, number[]>[] };
}

export interface NodeTime {
  node: string;
  op: string;
  ms: number;
  /** Output shapes as ORT recorded them, e.g. "[32,32,26,26]". */
  shapes: string;
}

export interface ProfileTable {
  runs: number;
  /** Mean wall time of session.run in ms (ORT's model_run event). */
  runMs: number;
  /** Op class → mean kernel ms per run. */
  classes: Record<string, number>;
  /** Op type → mean kernel ms per run. */
  ops: Record<string, number>;
  /** Every node's mean kernel ms per run, slowest first. */
  nodes: NodeTime[];
}

/** Summarize one ORT profile file, dropping the first `warm` runs. */
export function summarize(events: TraceEvent[], warm: number): ProfileTable {
  const runs = events
    .filter((e) => e.cat === "Session" && e.name === "model_run")
    .sort((a, b) => a.ts - b.ts)
    .slice(warm);
  const inRun = (ts: number) => runs.some((r) => ts >= r.ts && ts <= r.ts + r.dur);
  const classes: Record<string, number> = {},
    ops: Record<string, number> = {},
    nodes = new Map<string, NodeTime>();
  for (const e of events) {
    if (e.cat !== "Node" || !e.name.endsWith("_kernel_time") || !inRun(e.ts)) continue;
    const op = e.args?.op_name ?? "?",
      ms = e.dur / 1000 / runs.length;
    ops[op] = (ops[op] ?? 0) + ms;
    classes[opClass(op)] = (classes[opClass(op)] ?? 0) + ms;
    const node = e.name.slice(0, -"_kernel_time".length);
    const shapes = (e.args?.output_type_shape ?? []).map((o) => JSON.stringify(Object.values(o)[0])).join(" ");
    const n = nodes.get(node) ?? { node, op, ms: 0, shapes };
    n.ms += ms;
    nodes.set(node, n);
  }
  return {
    runs: runs.length,
    runMs: runs.reduce((s, r) => s + r.dur, 0) / 1000 / Math.max(1, runs.length),
    classes,
    ops,
    nodes: [...nodes.values()].sort((a, b) => b.ms - a.ms),
  };
}

export function formatTable(title: string, t: ProfileTable, topNodes = 0): string {
  const total = Object.values(t.classes).reduce((a, b) => a + b, 0);
  const rows = Object.entries(t.classes).sort((a, b) => b[1] - a[1]);
  const lines = [
    `${title}: ${t.runs} runs, session.run ${t.runMs.toFixed(2)} ms, kernels ${total.toFixed(2)} ms`,
    "| op class | ms/run | share |",
    "| --- | ---: | ---: |",
  ];
  for (const [k, v] of rows) lines.push(`| ${k} | ${v.toFixed(2)} | ${((100 * v) / total).toFixed(1)}% |`);
  if (topNodes > 0) {
    lines.push(
      "",
      `${Math.min(topNodes, t.nodes.length)} slowest of ${t.nodes.length} nodes:`,
      "| ms/run | op | node | output shapes |",
      "| ---: | --- | --- | --- |",
    );
    for (const n of t.nodes.slice(0, topNodes))
      lines.push(`| ${n.ms.toFixed(3)} | ${n.op} | ${n.node} | ${n.shapes} |`);
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: "string", default: "scorenet" },
      steps: { type: "string" },
      reps: { type: "string", default: "10" },
      warm: { type: "string", default: "3" },
      threads: { type: "string", default: "2" },
      out: { type: "string", default: "out/profile" },
      json: { type: "boolean", default: false },
      nodes: { type: "string", default: "0" },
    },
  });
  const reps = Number(values.reps),
    warm = Number(values.warm);
  const wanted = values.steps?.split(",");
  const result: Record<string, ProfileTable> = {};
  mkdirSync(values.out!, { recursive: true });
  for (const name of values.only!.split(",")) {
    const w = WORKLOADS[name];
    if (!w) throw new Error(`unknown workload '${name}'; use one of: ${Object.keys(WORKLOADS).join(", ")}`);
    const stamp = `${name}-${Date.now()}`;
    const backend = nodeBackend({ threads: Number(values.threads), profilePrefix: join(values.out!, stamp) });
    E.setBackend(backend);
    E.clearProgramCache();
    const steps = await w.setup();
    // Session k belongs to the step that created it (setup compiles some programs up front).
    const owner: string[] = Array.from({ length: backend.profiledSessions }, () => "setup");
    for (const [step, fn] of Object.entries(steps)) {
      if (wanted && !wanted.includes(step)) continue;
      const before = backend.profiledSessions;
      for (let i = 0; i < warm + reps; i++) await fn();
      while (owner.length < backend.profiledSessions) owner.push(step);
      // A step that compiled nothing ran a program made in setup: the next unclaimed one.
      const unclaimed = owner.indexOf("setup");
      if (before === backend.profiledSessions && unclaimed >= 0) owner[unclaimed] = step;
    }
    backend.endProfiling();
    // Each step ran its own program(s); attribute each profile file to the step that ran it by order.
    const files = readdirSync(values.out!)
      .filter((f) => f.startsWith(stamp) && f.endsWith(".json"))
      .sort(
        (a, b) => Number(a.slice(stamp.length + 1).split("_")[0]) - Number(b.slice(stamp.length + 1).split("_")[0]),
      );
    for (const f of files) {
      const t = summarize(JSON.parse(readFileSync(join(values.out!, f), "utf8")) as TraceEvent[], warm);
      if (t.runs === 0) continue;
      const k = Number(f.slice(stamp.length + 1).split("_")[0]);
      const key = `${name}/${owner[k] ?? "?"}#${k}`;
      result[key] = t;
      if (!values.json) console.log(`${formatTable(key, t, Number(values.nodes))}\n`);
    }
  }
  if (values.json) console.log(JSON.stringify(result));
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
