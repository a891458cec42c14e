/**
 * Finite-difference gradient checks in float64: the analytic gradient of L = Σ f(inputs)·R
 * (R a fixed random cotangent) from the engine's autodiff against central differences of L.
 */
import assert from "node:assert/strict";
import "../../src/node.ts";
import { compile, constant, grad, input, mul, sum, type Shape, type Tensor } from "../../src/engine/index.ts";
import { Rng } from "../../src/rng.ts";

export interface GradCase {
  name: string;
  shapes: Shape[];
  build: (xs: Tensor[]) => Tensor;
  /** Transform raw N(0,1) inputs (e.g. keep away from kinks or make positive). */
  domain?: (v: number, inputIndex: number) => number;
  /** Inputs not to differentiate (e.g. int64 indices are built inside `build`). */
  skip?: number[];
}

export const awayFromZero = (v: number) => (v >= 0 ? v + 0.2 : v - 0.2);
export const positive = (v: number) => Math.abs(v) + 0.3;

export async function gradCheck(c: GradCase, seed = 1, h = 1e-5): Promise<{ maxErr: number; checked: number }> {
  const rng = new Rng(seed);
  const ins = c.shapes.map((s, i) => input(`x${i}`, s, "float64"));
  const out = c.build(ins);
  const r = constant(rng.normals(out.size), out.shape, "float64");
  const loss = sum(mul(out, r));
  const wrt = ins.filter((_, i) => !c.skip?.includes(i));
  const gs = grad(loss, wrt);
  const prog = await compile({ inputs: ins, outputs: { loss, ...Object.fromEntries(gs.map((g, i) => [`g${i}`, g])) } });
  const vals = ins.map((t, i) => Float64Array.from(rng.normals(t.size), (v) => (c.domain ? c.domain(v, i) : v)));
  const feeds = () => Object.fromEntries(ins.map((t, i) => [t.attrs.name as string, vals[i]!]));
  const base = await prog.run(feeds());
  let maxErr = 0,
    checked = 0;
  for (let k = 0; k < wrt.length; k++) {
    const i = ins.indexOf(wrt[k]!);
    const g = base[`g${k}`] as Float64Array;
    assert.equal(g.length, ins[i]!.size, `${c.name}: gradient ${k} has the wrong size`);
    for (let j = 0; j < vals[i]!.length; j++) {
      const v0 = vals[i]![j]!;
      vals[i]![j] = v0 + h;
      const lp = (await prog.run(feeds())).loss![0] as number;
      vals[i]![j] = v0 - h;
      const lm = (await prog.run(feeds())).loss![0] as number;
      vals[i]![j] = v0;
      const fd = (lp - lm) / (2 * h);
      const err = Math.abs(fd - g[j]!) / Math.max(1, Math.abs(fd));
      maxErr = Math.max(maxErr, err);
      checked++;
      assert.ok(err < 1e-6, `${c.name}: d/dx${i}[${j}] autodiff ${g[j]} vs finite difference ${fd}`);
    }
  }
  return { maxErr, checked };
}
