/** Training through the engine: optimizer arithmetic against a host reference, and real fits. */
import { test } from "node:test";
import assert from "node:assert/strict";
import "../src/node.ts";
import * as E from "../src/engine/index.ts";
import { normal, torchDefaultWeight, zeros } from "../src/engine/init.ts";
import {
  setAbsorbConcats,
  setCol2imShifts,
  setCol2imSum,
  setSharedPatches,
  setWeightGradTranspose,
} from "../src/engine/lower.ts";
import { Rng } from "../src/rng.ts";
import { OPTIMIZER_CONFIGS } from "./helpers/optimizers.ts";

test("Adam/AdamW step with warmup, clipping and EMA matches a host reference (float64)", async () => {
  const cfg: E.OptimizerConfig = {
    kind: "adamw",
    lr: 0.1,
    beta1: 0.8,
    beta2: 0.9,
    eps: 1e-8,
    weightDecay: 0.05,
    warmup: 4,
    clipNorm: 1.5,
    emaDecay: 0.7,
  };
  const scope = E.ParamScope.create("float64");
  const w = scope.param("w", [3], (s, r, d) => normal(s, 1, r, { dtype: d }));
  const target = E.input("target", [3], "float64");
  const d = E.sub(w, target);
  const loss = E.sum(E.mul(E.mul(d, d), E.constant([1, 2, 3], [3], "float64")));
  const init = scope.init(new Rng(3));
  const trainer = await E.Trainer.create(scope, loss, [target], init, cfg);
  const tgt = [0.5, -1, 2];
  let p = Array.from(init.get("w")!.data),
    m = [0, 0, 0],
    v = [0, 0, 0],
    ema = [...p];
  for (let step = 1; step <= 5; step++) {
    const g = p.map((x, i) => 2 * (i + 1) * (x - tgt[i]!));
    const norm = Math.hypot(...g);
    const gc = g.map((x) => x * Math.min(1, 1.5 / (norm + 1e-6)));
    const lr = 0.1 * Math.min(1, step / 4);
    m = m.map((x, i) => 0.8 * x + 0.2 * gc[i]!);
    v = v.map((x, i) => 0.9 * x + 0.1 * gc[i]! ** 2);
    p = p.map(
      (x, i) => x - lr * (m[i]! / (1 - 0.8 ** step) / (Math.sqrt(v[i]! / (1 - 0.9 ** step)) + 1e-8) + 0.05 * x),
    );
    const d = Math.min(0.7, (1 + step) / (10 + step));
    ema = ema.map((x, i) => d * x + (1 - d) * p[i]!);
    const r = await trainer.trainStep({ target: tgt });
    assert.ok(Math.abs(r.gradNorm - norm) < 1e-9, `gradient norm ${r.gradNorm} vs ${norm}`);
  }
  const got = trainer.params().get("w")!.data,
    gotEma = trainer.params(true).get("w")!.data;
  p.forEach((x, i) => assert.ok(Math.abs(got[i]! - x) < 1e-12, `param ${i}: ${got[i]} vs ${x}`));
  ema.forEach((x, i) => assert.ok(Math.abs(gotEma[i]! - x) < 1e-12, `ema ${i}: ${gotEma[i]} vs ${x}`));
  assert.equal(trainer.step, 5);
});

test("the flat (fused) and host optimizer states give the per-parameter update's parameters, moments and EMA, and keep checkpoint names", async () => {
  // Several parameters of different shapes (one frozen), float64 so the two layouts agree to rounding.
  const build = () => {
    const scope = E.ParamScope.create("float64");
    const w1 = scope.param("l1.weight", [4, 2], (s, r, d) => normal(s, 1, r, { dtype: d }));
    const b1 = scope.param("l1.bias", [4], (s, r, d) => normal(s, 0.1, r, { dtype: d }));
    const freq = scope.param("freq", [2], (s, r, d) => normal(s, 1, r, { dtype: d }), { trainable: false });
    const w2 = scope.param("l2.weight", [1, 4], (s, r, d) => normal(s, 1, r, { dtype: d }));
    const x = E.input("x", [5, 2], "float64"),
      y = E.input("y", [5, 1], "float64");
    const h = E.tanh(E.add(E.linear(E.mul(x, freq), w1), b1));
    const loss = E.mean(E.square(E.sub(E.linear(h, w2), y)));
    return { scope, loss, inputs: [x, y] };
  };
  const rng = new Rng(4);
  const batches = Array.from({ length: 6 }, () => ({ x: rng.normals(10), y: rng.normals(5) }));
  for (const cfg of OPTIMIZER_CONFIGS) {
    const states: Record<string, E.HostArray>[] = [];
    const layouts = ["per-parameter", "flat", "host"] as const;
    for (const layout of layouts) {
      const { scope, loss, inputs } = build();
      const trainer = await E.Trainer.create(scope, loss, inputs, scope.init(new Rng(7)), cfg, { layout });
      for (const b of batches) await trainer.trainStep(b);
      states.push(trainer.stateTensors());
    }
    const [ref, ...others] = states as [Record<string, E.HostArray>, ...Record<string, E.HostArray>[]];
    others.forEach((other, q) => {
      const layout = layouts[q + 1];
      assert.deepEqual(Object.keys(other), Object.keys(ref), `${cfg.kind} ${layout}: state names`);
      for (const [k, a] of Object.entries(ref)) {
        const b = other[k]!;
        a.forEach((v, i) =>
          assert.ok(Math.abs(Number(b[i]) - Number(v)) < 1e-12, `${cfg.kind} ${layout} ${k}[${i}]: ${b[i]} vs ${v}`),
        );
      }
    });
    if (cfg.kind !== "sgd") assert.ok(Number(ref["m:l1.bias"]![0]) !== 0, "the moments moved");
  }
  // Flat and host trainers resume from a checkpoint's named state and continue exactly like the original.
  const cfg = OPTIMIZER_CONFIGS[0]!;
  for (const layout of ["flat", "host"] as const) {
    const make = async () => {
      const { scope, loss, inputs } = build();
      return E.Trainer.create(scope, loss, inputs, scope.init(new Rng(7)), cfg, { layout });
    };
    const a = await make(),
      b = await make();
    for (const batch of batches.slice(0, 3)) await a.trainStep(batch);
    b.loadState(a.stateTensors());
    assert.equal(b.step, 3);
    for (const batch of batches.slice(3)) {
      await a.trainStep(batch);
      await b.trainStep(batch);
    }
    assert.deepEqual(b.stateTensors(), a.stateTensors(), `${layout}: resumed`);
    assert.throws(
      () => b.loadState({ ...a.stateTensors(), "v:l1.bias": new Float64Array(3) }),
      /'v:l1.bias' is of length 3/,
    );
  }
});

test("a tiny MLP trained through the engine fits sin(3x) (loss drops 10x)", async () => {
  const scope = E.ParamScope.create();
  const dense = (s: E.ParamScope, x: E.Tensor, n: number) => {
    const w = s.param("weight", [n, x.shape[1]!], (sh, r, d) => torchDefaultWeight(sh, r, d));
    const b = s.param("bias", [n], (sh, _r, d) => zeros(sh, d));
    return E.linear(x, w, b);
  };
  const x = E.input("x", [64, 1]),
    y = E.input("y", [64, 1]);
  const h = E.tanh(dense(scope.scope("l2"), E.tanh(dense(scope.scope("l1"), x, 32)), 32));
  const pred = dense(scope.scope("out"), h, 1);
  const loss = E.mean(E.square(E.sub(pred, y)));
  const trainer = await E.Trainer.create(scope, loss, [x, y], scope.init(new Rng(0)), { kind: "adam", lr: 1e-2 });
  const rng = new Rng(1);
  const batch = () => {
    const xs = rng.uniforms(64).map((u) => 2 * u - 1);
    return { x: xs, y: xs.map((v) => Math.sin(3 * v)) };
  };
  const first = (await trainer.trainStep(batch())).loss;
  let last = first;
  for (let i = 0; i < 300; i++) last = (await trainer.trainStep(batch())).loss;
  assert.ok(last < first / 10, `loss ${first} → ${last}`);
});

test("a tiny conv net trained through the engine learns to denoise (loss drops 3x)", async () => {
  const scope = E.ParamScope.create();
  const cw = (name: string, shape: number[]) => scope.param(name, shape, (s, r, d) => torchDefaultWeight(s, r, d));
  const x = E.input("x", [8, 1, 8, 8]),
    noise = E.input("noise", [8, 1, 8, 8]);
  const noisy = E.add(x, E.mul(noise, 0.5));
  const h = E.relu(E.conv2d(noisy, cw("c1", [8, 1, 3, 3]), { stride: 2, padding: 1 }));
  const out = E.convTranspose2d(h, cw("t1", [8, 1, 3, 3]), { stride: 2, padding: 1, outputPadding: 1 });
  const loss = E.mean(E.square(E.sub(out, x)));
  const trainer = await E.Trainer.create(scope, loss, [x, noise], scope.init(new Rng(0)), {
    kind: "adam",
    lr: 3e-2,
    clipNorm: 1,
  });
  const rng = new Rng(2);
  // smooth images: a random horizontal gradient plus a vertical bar
  const batch = () => {
    const xs = new Float32Array(8 * 64);
    for (let b = 0; b < 8; b++) {
      const a = rng.uniform(),
        c = rng.int(8);
      for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) xs[b * 64 + i * 8 + j] = (a * j) / 8 + (j === c ? 1 : 0);
    }
    return { x: xs, noise: rng.normals(8 * 64, new Float32Array(8 * 64)) };
  };
  const first = (await trainer.trainStep(batch())).loss;
  let last = first;
  for (let i = 0; i < 200; i++) last = (await trainer.trainStep(batch())).loss;
  assert.ok(last < first / 3, `loss ${first} → ${last}`);
});

test("float32 convolution lowerings (Conv, flipped Conv, ConvTranspose, MatMul+col2im, NCHW col2im, Gather+Gemm for tiny outputs and weight gradients, one-hot patches) agree with the float64 im2col oracle", async () => {
  const rng = new Rng(5);
  const geos = [
    { x: [2, 3, 9, 9], w: [4, 3, 3, 3], o: { stride: 1, padding: 1 } },
    { x: [2, 3, 9, 8], w: [5, 3, 3, 3], o: { stride: 2, padding: 1 } },
    { x: [1, 2, 10, 10], w: [3, 2, 3, 3], o: { stride: 1, padding: 2, dilation: 2 } },
    // A small strided gradient image (5×2 pixels): gx by MatMul + Gather col2im instead of ConvTranspose.
    { x: [2, 3, 8, 7], w: [4, 3, 3, 3], o: { stride: 2, padding: [1, 0, 2, 1], dilation: [1, 2] } },
    // A 2×2 output: the conv itself by Gather-im2col + Gemm (fed filter), gx by MatMul + col2im.
    { x: [3, 3, 5, 5], w: [6, 3, 3, 3], o: { stride: 2, padding: 0 } },
    // One input channel: gw by the one-hot patch Conv + FusedMatMul, gx by the NCHW product + col2im.
    { x: [3, 1, 9, 8], w: [4, 1, 3, 3], o: { stride: 1, padding: 0 } },
    { x: [2, 1, 9, 9], w: [5, 1, 3, 2], o: { stride: 2, padding: [1, 0, 2, 1], dilation: [2, 1] } },
    // Stride 1 with uneven padding and dilation: gx's shifted tap planes are cropped at the edges.
    { x: [2, 1, 9, 8], w: [3, 1, 3, 3], o: { stride: 1, padding: [1, 2, 0, 1], dilation: [2, 1] } },
  ] as const;
  for (const g of geos) {
    const run = async (dt: "float32" | "float64", xv: Float64Array, wv: Float64Array, sv: Float64Array) => {
      const x = E.input("x", g.x, dt),
        w = E.input("w", g.w, dt);
      const y = E.conv2d(x, w, g.o);
      const s = E.input("s", y.shape, dt);
      const [gx, gw] = E.vjp([y], [s], [x, w]);
      const p = await E.compile({ inputs: [x, w, s], outputs: { y, gx: gx!, gw: gw! } });
      return p.run({ x: xv, w: wv, s: sv });
    };
    const outSize = E.conv2d(E.input("x", g.x), E.input("w", g.w), g.o).size;
    const size = (sh: readonly number[]) => sh.reduce((a, b) => a * b, 1);
    const xv = new Float64Array(size(g.x)),
      wv = new Float64Array(size(g.w)),
      sv = new Float64Array(outSize);
    rng.normals(xv.length, xv);
    rng.normals(wv.length, wv);
    rng.normals(sv.length, sv);
    const r64 = await run("float64", xv, wv, sv),
      r32 = await run("float32", xv, wv, sv);
    // Filter re-layouts (weight gradient, col2im filter) by ORT's Transpose instead of the identity product.
    setWeightGradTranspose("transpose");
    const r32t = await run("float32", xv, wv, sv);
    setWeightGradTranspose();
    // Stride-1 few-channel input gradients by the Gather col2im instead of shifted planes; the strided
    // col2im's contributions summed by a ReduceSum everywhere, then by slots and a Sum everywhere.
    setCol2imShifts(false);
    setCol2imSum("reduce");
    setSharedPatches("never"); // and the conv itself by ORT's Conv, not from the weight gradient's patches
    const r32g = await run("float32", xv, wv, sv);
    setSharedPatches();
    setCol2imShifts();
    setCol2imSum("slots");
    setSharedPatches("always");
    const r32s = await run("float32", xv, wv, sv);
    setSharedPatches();
    setCol2imSum();
    for (const [k, r] of [
      ["y", r32],
      ["gx", r32],
      ["gw", r32],
      ["gx", r32t],
      ["gw", r32t],
      ["y", r32g],
      ["gx", r32g],
      ["gw", r32g],
      ["y", r32s],
      ["gx", r32s],
      ["gw", r32s],
    ] as const) {
      const a = r64[k] as Float64Array,
        b = r[k] as Float32Array;
      let err = 0,
        scale = 0;
      for (let i = 0; i < a.length; i++) {
        err = Math.max(err, Math.abs(a[i]! - b[i]!));
        scale = Math.max(scale, Math.abs(a[i]!));
      }
      assert.ok(err < 1e-5 * Math.max(1, scale), `${JSON.stringify(g.o)} ${k}: max error ${err} (scale ${scale})`);
    }
  }
});

test("a channel concat read only by a few-channel transposed conv is multiplied part by part (no Concat), fed and frozen, forward and VJP, as the float64 oracle", async () => {
  const rng = new Rng(13);
  const geos = [
    { o: { stride: 1, padding: 1 } }, // shifted tap planes
    { o: { stride: 2, padding: [1, 0, 0, 1], outputPadding: 1 } }, // NCHW Gather col2im
  ] as const;
  const normals = (n: number) => rng.normals(n, new Float64Array(n)) as Float64Array;
  const av = normals(2 * 3 * 6 * 6),
    bv = normals(2 * 2 * 6 * 6),
    wv = normals(5 * 1 * 3 * 3);
  for (const g of geos) {
    const run = async (dt: "float32" | "float64", frozen: boolean) => {
      const a = E.input("a", [2, 3, 6, 6], dt),
        b = E.input("b", [2, 2, 6, 6], dt),
        w = E.input("w", [5, 1, 3, 3], dt); // 5 → 1 channel
      const y = E.convTranspose2d(E.concat([a, b], 1), w, g.o);
      const s = E.input("s", y.shape, dt);
      const [ga, gb] = E.vjp([y], [s], [a, b]);
      const cast = (v: Float64Array) => (dt === "float32" ? Float32Array.from(v) : v);
      const sv = Float64Array.from({ length: y.size }, (_, i) => Math.cos(i));
      const p = await E.compile({
        inputs: [a, b, w, s],
        outputs: { y, ga: ga!, gb: gb! },
        constants: frozen ? { w: cast(wv) } : undefined,
      });
      const feeds = { a: cast(av), b: cast(bv), s: cast(sv), ...(frozen ? {} : { w: cast(wv) }) };
      return { r: await p.run(feeds), concat: new TextDecoder().decode(p.modelBytes).includes("Concat") };
    };
    const oracle = await run("float64", false);
    for (const frozen of [false, true]) {
      const got = await run("float32", frozen);
      if (g.o.stride === 1) assert.ok(!got.concat, "no Concat in the stride-1 program");
      for (const k of ["y", "ga", "gb"]) {
        const a = oracle.r[k] as Float64Array,
          b = got.r[k] as Float32Array;
        let err = 0;
        a.forEach((u, i) => {
          err = Math.max(err, Math.abs(u - b[i]!));
        });
        assert.ok(err < 1e-5 * 10, `${JSON.stringify(g.o)} frozen=${frozen} ${k}: max error ${err}`);
      }
    }
    setAbsorbConcats(false);
    const plain = await run("float32", false);
    setAbsorbConcats();
    assert.ok(plain.concat, "with absorption off the Concat is there");
  }
});

test("frozen single-output-channel convolutions (depthwise Conv + channel sum) agree with the fed-weight Conv, forward and VJP", async () => {
  const rng = new Rng(11);
  const wv = rng.normals(6 * 9, new Float32Array(6 * 9)),
    vv = rng.normals(6 * 9, new Float32Array(6 * 9));
  const xv = rng.normals(2 * 6 * 7 * 7, new Float32Array(2 * 6 * 7 * 7));
  const run = async (frozen: boolean) => {
    const x = E.input("x", [2, 6, 7, 7]),
      w = E.input("w", [1, 6, 3, 3]), // conv 6 → 1
      v = E.input("v", [6, 1, 3, 3]); // stride-1 transposed conv 6 → 1 (a flipped Conv)
    const y = E.add(
      E.conv2d(x, w, { padding: 1 }),
      E.slice(E.convTranspose2d(x, v, { padding: 1, dilation: 2 }), [2, 2], [9, 9], [2, 3]),
    );
    const s = E.input("s", y.shape);
    const [gx] = E.vjp([y], [s], [x]);
    const p = await E.compile({
      inputs: frozen ? [x, w, v, s] : [x, w, v, s],
      outputs: { y, gx: gx! },
      constants: frozen ? { w: wv, v: vv } : undefined,
    });
    const sv = Float32Array.from({ length: y.size }, (_, i) => Math.sin(i));
    return { r: await p.run(frozen ? { x: xv, s: sv } : { x: xv, w: wv, v: vv, s: sv }), bytes: p.modelBytes };
  };
  const fed = await run(false),
    frozen = await run(true);
  assert.ok(
    new TextDecoder().decode(frozen.bytes).includes("group"),
    "the frozen program uses a grouped (depthwise) Conv",
  );
  for (const k of ["y", "gx"]) {
    const a = fed.r[k] as Float32Array,
      b = frozen.r[k] as Float32Array;
    let err = 0;
    a.forEach((u, i) => {
      err = Math.max(err, Math.abs(u - b[i]!));
    });
    assert.ok(err < 1e-4, `${k}: max difference ${err}`);
  }
});
