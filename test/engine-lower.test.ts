/** Lowering details: inputs frozen into the program, and graph outputs that repeat, echo inputs or feed later nodes. */
import { test } from "node:test";
import assert from "node:assert/strict";
import "../src/node.ts";
import * as E from "../src/engine/index.ts";
import { Rng } from "../src/rng.ts";

test("inputs frozen as constants give the same outputs as fed inputs, and are no longer fed", async () => {
  const rng = new Rng(5);
  const x = E.input("x", [2, 1, 6, 6]),
    w = E.input("w", [3, 1, 3, 3]),
    b = E.input("b", [3]);
  const y = E.add(E.conv2d(x, w, { stride: 2, padding: 1 }), E.reshape(b, [1, 3, 1, 1]));
  const [gx] = E.vjp([y], [E.expand(E.scalar(1, "float32"), y.shape)], [x]);
  const feeds = {
    x: rng.normals(72, new Float32Array(72)),
    w: rng.normals(27, new Float32Array(27)),
    b: Float32Array.of(0.5, -1, 2),
  };
  const fed = await E.compile({ inputs: [x, w, b], outputs: { y, gx: gx! } });
  const frozen = await E.compile({ inputs: [x, w, b], outputs: { y, gx: gx! }, constants: { w: feeds.w, b: feeds.b } });
  assert.deepEqual(
    frozen.inputs.map((i) => i.name),
    ["x"],
  );
  const a = await fed.run(feeds),
    c = await frozen.run({ x: feeds.x });
  for (const k of ["y", "gx"]) {
    const u = a[k] as Float32Array,
      v = c[k] as Float32Array;
    for (let i = 0; i < u.length; i++)
      assert.ok(Math.abs(u[i]! - v[i]!) <= 1e-5 * (1 + Math.abs(u[i]!)), `${k}[${i}]: ${u[i]} vs ${v[i]}`);
  }
  // A fed weight and a frozen one differ once the fed value changes: the constant really is baked in.
  const w2 = feeds.w.map((v) => v * 2);
  const moved = (await fed.run({ ...feeds, w: w2 })).y as Float32Array;
  assert.notDeepEqual(Array.from(moved), Array.from(c.y as Float32Array));
  await assert.rejects(
    E.compile({ inputs: [x, w], outputs: { y: E.conv2d(x, w) }, constants: { w: new Float32Array(5) } }),
    /constant 'w' has 5 values, expected 27/,
  );
  await assert.rejects(
    E.compile({ inputs: [x, w], outputs: { y: E.conv2d(x, w) }, constants: { nope: new Float32Array(1) } }),
    /constant 'nope' is not among the program inputs/,
  );
});

test("graph outputs: one value under two names, an input as an output, and an output that feeds later nodes", async () => {
  const x = E.input("x", [3], "float64");
  const h = E.mul(x, 2);
  const y = E.add(h, 1); // consumes h, which is also an output
  const prog = await E.compile({ inputs: [x], outputs: { h, again: h, y, echo: x, one: E.scalar(1, "float64") } });
  const r = await prog.run({ x: Float64Array.of(1, 2, 3) });
  assert.deepEqual(Array.from(r.h as Float64Array), [2, 4, 6]);
  assert.deepEqual(Array.from(r.again as Float64Array), [2, 4, 6]);
  assert.deepEqual(Array.from(r.y as Float64Array), [3, 5, 7]);
  assert.deepEqual(Array.from(r.echo as Float64Array), [1, 2, 3]);
  assert.deepEqual(Array.from(r.one as Float64Array), [1]);
});

test("ScoreNet programs (forward, input VJP, parameter gradients) contain no Slice with a negative step", async () => {
  // onnxruntime-web's WebGPU kernels compute a step −1 Slice wrongly; kernel flips are Gathers instead
  const onnx = (await import("onnx-proto")).default.onnx;
  const { scoreNetSpec, traceNetwork } = await import("../src/models/registry.ts");
  const spec = scoreNetSpec({ channels: [4, 8, 8, 8], embed: 16 });
  const ps = E.ParamScope.create("float32");
  const x = E.input("x", [2, 1, 28, 28]),
    c = E.input("c", [2]);
  const out = traceNetwork(spec, ps, x, c);
  const v = E.input("v", out.shape);
  const params = ps.specs().map((p) => p.node);
  const grads = E.vjp([out], [v], [x, ...params]);
  const bytes = E.toOnnx({
    inputs: [...params, x, c, v],
    outputs: Object.fromEntries([["out", out], ...grads.map((g, i) => [`g${i}`, g!] as const)]),
  });
  const graph = onnx.ModelProto.decode(bytes).graph!;
  const init = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  const stepsOf = (name: string): number[] => {
    const t = init.get(name);
    assert.ok(t, `Slice steps ${name} is a constant`);
    if (t.int64Data?.length) return t.int64Data.map(Number);
    const raw = t.rawData!;
    return [...new BigInt64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength))].map(Number);
  };
  const nodes = graph.node ?? [];
  assert.ok(
    nodes.some((n) => n.opType === "Conv"),
    "the program has convolutions",
  );
  assert.ok(
    nodes.some((n) => n.opType === "Gather"),
    "kernel flips are Gathers",
  );
  for (const n of nodes.filter((q) => q.opType === "Slice" && (q.input?.length ?? 0) >= 5))
    assert.ok(
      stepsOf(n.input![4]!).every((s) => s > 0),
      `Slice ${n.name} has steps ${stepsOf(n.input![4]!)}`,
    );
});

test("per-channel arithmetic on small images (operand widened before ORT broadcasts it) equals float64 math", async () => {
  const onnx = (await import("onnx-proto")).default.onnx;
  const { setSmallSpanBroadcast } = await import("../src/engine/lower.ts");
  const rng = new Rng(11);
  const [n, c] = [16, 64];
  const x = E.input("x", [n, c, 2, 2]),
    x5 = E.input("x5", [8, 32, 5, 5]),
    e = E.input("e", [n, c, 1, 1]),
    e5 = E.input("e5", [8, 32, 1, 1]),
    g = E.input("g", [c]),
    b = E.input("b", [c]);
  const outputs = {
    add: E.add(x, e), // varies along every leading dim: widened by a product with ones
    mulShared: E.mul(x, E.reshape(g, [1, c, 1, 1])), // shared across the batch: widened by Expand
    subNarrowFirst: E.sub(e, x),
    divLowerRank: E.div(x, E.add(E.reshape(g, [c, 1, 1]), 2)),
    add5: E.add(x5, e5),
    norm: E.groupNorm(x, 8, g, b),
  };
  const feeds = {
    x: rng.normals(n * c * 4, new Float32Array(n * c * 4)),
    x5: rng.normals(8 * 32 * 25, new Float32Array(8 * 32 * 25)),
    e: rng.normals(n * c, new Float32Array(n * c)),
    e5: rng.normals(8 * 32, new Float32Array(8 * 32)),
    g: Float32Array.from({ length: c }, (_, i) => 0.5 + i / c),
    b: Float32Array.from({ length: c }, (_, i) => Math.sin(i)),
  };
  const spec = { inputs: [x, x5, e, e5, g, b], outputs };
  const ops = (bytes: Uint8Array) => (onnx.ModelProto.decode(bytes).graph!.node ?? []).map((q) => q.opType);
  setSmallSpanBroadcast(false);
  const plainOps = ops(E.toOnnx(spec));
  setSmallSpanBroadcast();
  const wideOps = ops(E.toOnnx(spec));
  assert.ok(!plainOps.includes("MatMul") && !plainOps.includes("Expand"), "off: plain broadcasts");
  assert.equal(wideOps.filter((o) => o === "MatMul").length, 3, "add, sub and add5 widen by a product with ones");
  assert.equal(wideOps.filter((o) => o === "Expand").length, 4, "mul, div and the norm's γ and β widen by Expand");
  const r = await (await E.compile(spec)).run(feeds);
  const at = (v: ArrayLike<number>, i: number) => v[i]!;
  const ch = (i: number, cc: number, hw: number) => Math.floor(i / hw) % cc;
  const want: Record<string, (i: number) => number> = {
    add: (i) => at(feeds.x, i) + at(feeds.e, Math.floor(i / 4)),
    mulShared: (i) => at(feeds.x, i) * at(feeds.g, ch(i, c, 4)),
    subNarrowFirst: (i) => at(feeds.e, Math.floor(i / 4)) - at(feeds.x, i),
    divLowerRank: (i) => at(feeds.x, i) / (at(feeds.g, ch(i, c, 4)) + 2),
    add5: (i) => at(feeds.x5, i) + at(feeds.e5, Math.floor(i / 25)),
    norm: (i) => {
      const per = (c / 8) * 4,
        start = Math.floor(i / per) * per;
      const vals = Array.from({ length: per }, (_, k) => at(feeds.x, start + k));
      const mean = vals.reduce((p, v) => p + v, 0) / per;
      const varc = vals.reduce((p, v) => p + (v - mean) ** 2, 0) / per;
      return ((at(feeds.x, i) - mean) / Math.sqrt(varc + 1e-5)) * at(feeds.g, ch(i, c, 4)) + at(feeds.b, ch(i, c, 4));
    },
  };
  for (const [name, f] of Object.entries(want)) {
    const got = r[name] as Float32Array;
    for (let i = 0; i < got.length; i++)
      assert.ok(Math.abs(got[i]! - f(i)) <= 2e-5 * (1 + Math.abs(f(i))), `${name}[${i}]: ${got[i]} vs ${f(i)}`);
  }
});
