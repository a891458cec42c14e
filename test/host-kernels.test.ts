/** The float32 host optimizer kernels (WebAssembly SIMD) against their scalar twin and a float64 reference. */
import assert from "node:assert/strict";
import test from "node:test";
import "../src/node.ts";
import * as E from "../src/engine/index.ts";
import { hostArena, scalarKernels, setHostArenaEngine } from "../src/engine/host-kernels.ts";
import { normal } from "../src/engine/init.ts";
import { Rng } from "../src/rng.ts";
import { OPTIMIZER_CONFIGS } from "./helpers/optimizers.ts";

test("WebAssembly SIMD kernels equal the scalar float32 twin bit for bit: Adam, SGD, EMA, Σg², padding stays zero", () => {
  const n = 1003,
    stride = 1004; // regions g, p, m, v, e; the last value of each is padding
  const simd = hostArena(5 * stride * 4);
  assert.equal(simd.engine, "wasm-simd");
  const twin = new Float32Array(5 * stride);
  const rng = new Rng(9);
  const fill = (a: Float32Array) => {
    for (let r = 0; r < 5; r++)
      for (let i = 0; i < n; i++) a[r * stride + i] = (r === 3 ? Math.abs(rng.normal()) * 1e-4 : rng.normal()) * 0.1;
  };
  fill(simd.values);
  twin.set(simd.values);
  const tk = scalarKernels(twin);
  const at = (r: number) => r * stride * 4;
  const kernels = [simd.kernels, tk];
  const results = kernels.map((k) => {
    const r = [
      k.sumSquares(at(0), stride),
      k.adam(at(0), at(1), at(2), at(3), stride, 0.7, 0.01, 0.999, 0.9, 0.1, 0.999, 0.001, 3e-3, 1e-8),
      k.sgd(at(0), at(4), stride, 0.5, 0.02, 0.1),
    ];
    k.ema(at(4), at(1), stride, 0.95, 0.05);
    return r;
  });
  assert.deepEqual(results[0], results[1]);
  assert.deepEqual(simd.values, twin, "every value equal");
  for (let r = 0; r < 5; r++) assert.equal(simd.values[r * stride + n], 0, `region ${r}: padding`);
  // Σ g² against float64
  let ss = 0;
  for (let i = 0; i < n; i++) ss += twin[i]! ** 2;
  assert.ok(Math.abs(results[0]![0]! - ss) < 1e-12 * ss);
});

/** A float32 trainer of three parameter tensors (one frozen), with clipping and EMA. */
async function float32Trainer(cfg: E.OptimizerConfig, layout: E.StateLayout) {
  const scope = E.ParamScope.create();
  const w1 = scope.param("l1.weight", [7, 3], (s, r, d) => normal(s, 1, r, { dtype: d }));
  const b1 = scope.param("l1.bias", [7], (s, r, d) => normal(s, 0.1, r, { dtype: d }));
  const freq = scope.param("freq", [3], (s, r, d) => normal(s, 1, r, { dtype: d }), { trainable: false });
  const w2 = scope.param("l2.weight", [2, 7], (s, r, d) => normal(s, 1, r, { dtype: d }));
  const x = E.input("x", [9, 3]),
    y = E.input("y", [9, 2]);
  const h = E.tanh(E.add(E.linear(E.mul(x, freq), w1), b1));
  const loss = E.mean(E.square(E.sub(E.linear(h, w2), y)));
  return E.Trainer.create(scope, loss, [x, y], scope.init(new Rng(7)), cfg, { layout });
}

test("float32 host trainer: the SIMD arena equals the scalar twin exactly and the per-parameter (ORT float32) update to float32 rounding", async () => {
  const rng = new Rng(4);
  const batches = Array.from({ length: 8 }, () => ({ x: rng.normals(27), y: rng.normals(18) }));
  for (const cfg of OPTIMIZER_CONFIGS) {
    const run = async (layout: E.StateLayout) => {
      const t = await float32Trainer(cfg, layout);
      const norms: number[] = [];
      let first: Record<string, E.HostArray> = {};
      for (const b of batches) {
        norms.push((await t.trainStep(b)).gradNorm);
        if (t.step === 1) first = t.stateTensors();
      }
      return { first, state: t.stateTensors(), norms };
    };
    const simd = await run("host");
    setHostArenaEngine("scalar");
    const twin = await run("host").finally(() => setHostArenaEngine());
    assert.deepEqual(twin, simd, `${cfg.kind}: scalar twin`);
    const ref = await run("per-parameter");
    assert.deepEqual(Object.keys(simd.state), Object.keys(ref.state), `${cfg.kind}: state names`);
    // after one step the two float32 updates differ by rounding only (a wrong bias correction or decay
    // would differ by 1e-2 or more); after eight, also through the
    // gradients of slightly different parameters
    for (const [when, tol] of [
      ["first", 1e-5],
      ["state", 1e-4],
    ] as const)
      for (const [k, a] of Object.entries(ref[when])) {
        const b = simd[when][k]!;
        let err = 0,
          scale = 0;
        a.forEach((v, i) => {
          err = Math.max(err, Math.abs(Number(b[i]) - Number(v)));
          scale = Math.max(scale, Math.abs(Number(v)));
        });
        assert.ok(err <= tol * scale, `${cfg.kind} ${k} (${when}): max error ${err}, scale ${scale}`);
      }
    simd.norms.forEach((g, i) =>
      assert.ok(Math.abs(g - ref.norms[i]!) < 1e-4 * ref.norms[i]!, `${cfg.kind} norm ${i}`),
    );
    if (cfg.kind !== "sgd") assert.ok(Number(simd.state["m:l1.bias"]![0]) !== 0, "the moments moved");
  }
});
