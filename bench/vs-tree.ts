/**
 * Head-to-head of this checkout's engine against another checkout's (e.g. main), interleaved in one
 * process so machine load hits both alike:
 *   npx tsx bench/vs-tree.ts <other-checkout> [--workload scorenet] [--rounds 60] [--threads 2]
 * The other checkout needs its dependencies (`npm ci`, or a node_modules link to these). Each tree's
 * engine, backend and workloads are imported from its own files, so each runs its own lowering.
 * Prints, per metric, both medians and the median per-round ratio this/other with quartiles, for
 * wall-clock and for process CPU time (which does not count time spent waiting for a core), then
 * the ratio of the two trees' fastest-tenth times.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Step } from "./workloads.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    workload: { type: "string", default: "scorenet" },
    rounds: { type: "string", default: "60" },
    threads: { type: "string", default: "2" },
    warm: { type: "string", default: "3" },
  },
});
const other = positionals[0];
if (!other) throw new Error("vs-tree: name the other checkout, e.g. npx tsx bench/vs-tree.ts ../main");
const trees = { other: resolve(other), this: resolve(import.meta.dirname, "..") };
const steps: Record<string, Record<string, Step>> = {};
for (const [name, root] of Object.entries(trees)) {
  const E = await import(`${root}/src/engine/index.ts`);
  const { nodeBackend } = await import(`${root}/src/engine/backend-node.ts`);
  E.setBackend(nodeBackend({ threads: Number(values.threads) }));
  const { WORKLOADS } = await import(`${root}/bench/workloads.ts`);
  const w = WORKLOADS[values.workload!];
  if (!w) throw new Error(`vs-tree: no workload '${values.workload}' in ${root}`);
  steps[name] = await w.setup();
}
const q = (a: number[], p: number) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(p * a.length))]!;
const spread = (r: number[]) => `${q(r, 0.5).toFixed(3)} [${q(r, 0.25).toFixed(3)}–${q(r, 0.75).toFixed(3)}]`;
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const rounds = Number(values.rounds),
  warm = Number(values.warm);
console.log(
  `${values.workload}: this (${trees.this}) vs other (${trees.other}), ${rounds} rounds, ${values.threads} threads`,
);
for (const m of Object.keys(steps.this!)) {
  if (!steps.other![m]) continue;
  const wall: Record<string, number[]> = { this: [], other: [] },
    cpu: Record<string, number[]> = { this: [], other: [] };
  for (let r = 0; r < warm + rounds; r++)
    for (const n of r % 2 ? ["other", "this"] : ["this", "other"]) {
      const t0 = performance.now(),
        c0 = cpuMs();
      await steps[n]![m]!();
      if (r >= warm) {
        wall[n]!.push(performance.now() - t0);
        cpu[n]!.push(cpuMs() - c0);
      }
    }
  const ratios = (a: Record<string, number[]>) => a.this!.map((t, k) => t / a.other![k]!);
  console.log(
    `  ${m}: other ${q(wall.other!, 0.5).toFixed(1)} ms · this ${q(wall.this!, 0.5).toFixed(1)} ms; this/other wall ${spread(ratios(wall))}, cpu ${spread(ratios(cpu))}`,
  );
  // Contention only adds time: the fastest tenth of each tree's steps is the steadier estimate on a shared machine.
  const p10 = (n: string) => q(wall[n]!, 0.1);
  console.log(
    `  ${m} fastest 10%: other ${p10("other").toFixed(1)} ms · this ${p10("this").toFixed(1)} ms; this/other ${(p10("this") / p10("other")).toFixed(3)}`,
  );
}
