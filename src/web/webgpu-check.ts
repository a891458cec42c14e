/**
 * The program `checkWebGpu` runs on two execution providers: a small ScoreNet (channels 4/8/8/8,
 * 28×28 input, batch 2) traced forward, with the VJP of a fixed cotangent with respect to the input
 * and every weight — stride-1 and strided convolutions, their transposes, group norms, SiLU and the
 * kernel flips of input gradients — fed seeded values.
 */
import * as E from "../engine/index.ts";
import type { ProgramSpec } from "../engine/lower.ts";
import type { HostArray } from "../engine/tensor.ts";
import { scoreNetSpec, traceNetwork } from "../models/registry.ts";
import { Rng } from "../rng.ts";

export function checkProgram(): { spec: ProgramSpec; feeds: Record<string, HostArray> } {
  const model = scoreNetSpec({ channels: [4, 8, 8, 8], embed: 16 });
  const ps = E.ParamScope.create("float32");
  const x = E.input("x", [2, 1, 28, 28]),
    c = E.input("c", [2]);
  const out = traceNetwork(model, ps, x, c);
  const v = E.input("v", out.shape);
  const params = ps.specs();
  const grads = E.vjp([out], [v], [x, ...params.map((p) => p.node)]);
  const outputs: Record<string, E.Tensor> = { out };
  grads.forEach((g, i) => {
    outputs[`g${i}`] = g!;
  });
  const rng = new Rng(11);
  const feeds: Record<string, HostArray> = {
    x: rng.normals(1568, new Float32Array(1568)),
    c: Float32Array.of(0.3, 0.8),
    v: rng.normals(1568, new Float32Array(1568)),
  };
  for (const [name, p] of ps.init(rng.fork(1))) feeds[E.paramFeed(name)] = Float32Array.from(p.data);
  return { spec: { inputs: [...params.map((p) => p.node), x, c, v], outputs }, feeds };
}
