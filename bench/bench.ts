/**
 * Benchmarks (not tests): `npm run bench -- [--json] [--reps N] [--threads N] [--only convnet,…]`.
 * Each workload is measured the way ../shared/bench/torch_reference.py measures it (median of
 * ≥ 15 runs after warm-up, 2 intra-op threads), so the two can be compared side by side:
 *   /usr/bin/python3 ../shared/bench/torch_reference.py --threads 2
 */
import { parseArgs } from "node:util";
import { nodeBackend } from "../src/engine/backend-node.ts";
import * as E from "../src/engine/index.ts";
import { Rng } from "../src/rng.ts";
import { medianMs, round } from "./timing.ts";
import { extraWorkloads } from "./workloads.ts";

const { values } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    reps: { type: "string", default: "15" },
    threads: { type: "string", default: "2" },
    only: { type: "string" },
  },
});
const reps = Math.max(15, Number(values.reps));
E.setBackend(nodeBackend({ threads: Number(values.threads) }));

/** The engine's reference net (DESIGN.md): one SGD step of mean(y²), batch 32, no biases. */
async function convnet(): Promise<Record<string, number>> {
  const scope = E.ParamScope.create();
  const rng = new Rng(0);
  const w = (name: string, shape: number[]) =>
    scope.param(name, shape, (s) => ({
      shape: s,
      data: Float32Array.from(rng.normals(s.reduce((a, b) => a * b)), (v) => v * 0.05),
    }));
  const x = E.input("x", [32, 1, 28, 28]);
  let h = E.relu(E.conv2d(x, w("c1", [32, 1, 3, 3]), { padding: 1 }));
  h = E.relu(E.conv2d(h, w("c2", [64, 32, 3, 3]), { stride: 2, padding: 1 }));
  h = E.relu(E.conv2d(h, w("c3", [128, 64, 3, 3]), { stride: 2, padding: 1 }));
  h = E.relu(E.convTranspose2d(h, w("t3", [128, 64, 3, 3]), { stride: 2, padding: 1, outputPadding: 1 }));
  h = E.convTranspose2d(h, w("t2", [64, 32, 3, 3]), { stride: 2, padding: 1, outputPadding: 1 });
  const y = E.conv2d(h, w("c0", [1, 32, 3, 3]), { padding: 1 });
  const loss = E.mean(E.square(y));
  const trainer = await E.Trainer.create(scope, loss, [x], scope.init(rng), { kind: "sgd", lr: 1e-2 });
  const xs = rng.normals(32 * 784, new Float32Array(32 * 784));
  return { train_ms: round(await medianMs(() => trainer.trainStep({ x: xs }), reps)) };
}

const workloads: Record<string, (reps: number) => Promise<Record<string, number>>> = { convnet, ...extraWorkloads };
const only = values.only?.split(",");
const result: Record<string, unknown> = { engine: "scoregen-ort", threads: Number(values.threads), reps };
for (const [name, run] of Object.entries(workloads)) {
  if (only && !only.includes(name)) continue;
  result[name] = await run(reps);
  if (!values.json) console.log(name, JSON.stringify(result[name]));
}
if (values.json) console.log(JSON.stringify(result));
