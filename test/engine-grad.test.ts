/** Every op's VJP rule against central finite differences in float64 (test/helpers/gradcheck.ts). */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as E from "../src/engine/index.ts";
import { type GradCase, awayFromZero, gradCheck, positive } from "./helpers/gradcheck.ts";

const T = (xs: E.Tensor[], i: number) => xs[i]!;
const idx = (v: number[], shape = [v.length]) => E.constant(v, shape, "int64");

const cases: GradCase[] = [
  // elementwise, with broadcasting in the binary ops
  { name: "add (broadcast)", shapes: [[3, 4], [4]], build: (x) => E.add(T(x, 0), T(x, 1)) },
  {
    name: "sub (broadcast)",
    shapes: [
      [2, 1, 3],
      [4, 1],
    ],
    build: (x) => E.sub(T(x, 0), T(x, 1)),
  },
  {
    name: "mul (broadcast)",
    shapes: [
      [3, 4],
      [3, 1],
    ],
    build: (x) => E.mul(T(x, 0), T(x, 1)),
  },
  {
    name: "div (broadcast)",
    shapes: [
      [3, 4],
      [1, 4],
    ],
    build: (x) => E.div(T(x, 0), T(x, 1)),
    domain: (v, i) => (i === 1 ? positive(v) : v),
  },
  {
    name: "pow (tensor exponent)",
    shapes: [[5], [5]],
    build: (x) => E.pow(T(x, 0), T(x, 1)),
    domain: (v, i) => (i === 0 ? positive(v) : v),
  },
  { name: "pow (constant exponent)", shapes: [[6]], build: (x) => E.pow(T(x, 0), 2.5), domain: positive },
  { name: "neg", shapes: [[5]], build: (x) => E.neg(T(x, 0)) },
  { name: "exp", shapes: [[5]], build: (x) => E.exp(T(x, 0)) },
  { name: "log", shapes: [[5]], build: (x) => E.log(T(x, 0)), domain: positive },
  { name: "sqrt", shapes: [[5]], build: (x) => E.sqrt(T(x, 0)), domain: positive },
  { name: "sin", shapes: [[5]], build: (x) => E.sin(T(x, 0)) },
  { name: "cos", shapes: [[5]], build: (x) => E.cos(T(x, 0)) },
  { name: "tanh", shapes: [[5]], build: (x) => E.tanh(T(x, 0)) },
  { name: "sigmoid", shapes: [[5]], build: (x) => E.sigmoid(T(x, 0)) },
  { name: "relu", shapes: [[8]], build: (x) => E.relu(T(x, 0)), domain: awayFromZero },
  { name: "softplus", shapes: [[8]], build: (x) => E.softplus(E.mul(T(x, 0), 4)) },
  { name: "silu", shapes: [[8]], build: (x) => E.silu(T(x, 0)) },
  { name: "abs", shapes: [[8]], build: (x) => E.abs(T(x, 0)), domain: awayFromZero },
  { name: "reciprocal", shapes: [[5]], build: (x) => E.reciprocal(T(x, 0)), domain: positive },
  {
    name: "maximum/minimum",
    shapes: [[6], [6]],
    build: (x) => E.add(E.maximum(T(x, 0), T(x, 1)), E.mul(E.minimum(T(x, 0), T(x, 1)), 3)),
  },
  {
    name: "comparisons and where",
    shapes: [[3, 4], [4]],
    build: (x) => E.where(E.greater(T(x, 0), T(x, 1)), E.mul(T(x, 0), T(x, 0)), E.mul(T(x, 1), 2)),
  },
  {
    name: "where with less/equal masks",
    shapes: [[6], [6]],
    build: (x) => E.where(E.lessEq(T(x, 0), 0.1), E.exp(T(x, 1)), E.where(E.equal(T(x, 0), 5), 0, T(x, 0))),
  },
  // reductions
  {
    name: "sum (axes, keepdims)",
    shapes: [[2, 3, 4]],
    build: (x) => E.mul(E.sum(T(x, 0), [1], true), E.sum(T(x, 0), [0, 2], true)),
  },
  { name: "mean", shapes: [[2, 3, 4]], build: (x) => E.exp(E.mean(T(x, 0), [2])) },
  { name: "max", shapes: [[3, 5]], build: (x) => E.max(T(x, 0), [1]) },
  { name: "logSumExp", shapes: [[3, 5]], build: (x) => E.logSumExp(T(x, 0), [1]) },
  { name: "softmax", shapes: [[3, 5]], build: (x) => E.softmax(T(x, 0), 1) },
  // matmul
  {
    name: "matmul 2-D",
    shapes: [
      [3, 4],
      [4, 2],
    ],
    build: (x) => E.matmul(T(x, 0), T(x, 1)),
  },
  {
    name: "matmul batched, broadcast",
    shapes: [
      [2, 3, 4],
      [4, 5],
    ],
    build: (x) => E.matmul(T(x, 0), T(x, 1)),
  },
  { name: "linear", shapes: [[3, 4], [2, 4], [2]], build: (x) => E.linear(T(x, 0), T(x, 1), T(x, 2)) },
  // shape ops
  {
    name: "reshape",
    shapes: [[2, 6]],
    build: (x) => E.mul(E.reshape(T(x, 0), [3, 4]), E.constant([1, 2, 3, 4], [4], "float64")),
  },
  {
    name: "transpose",
    shapes: [[2, 3, 4]],
    build: (x) => E.mul(E.transpose(T(x, 0), [2, 0, 1]), E.constant([1, 2], [2, 1], "float64")),
  },
  { name: "expand", shapes: [[3, 1]], build: (x) => E.expand(T(x, 0), [2, 3, 4]) },
  {
    name: "concat",
    shapes: [
      [2, 3],
      [2, 2],
    ],
    build: (x) => E.concat([T(x, 0), E.exp(T(x, 1)), T(x, 0)], 1),
  },
  { name: "slice", shapes: [[4, 5]], build: (x) => E.slice(T(x, 0), [1, -3], [3, 5], [0, 1]) },
  { name: "pad", shapes: [[2, 3]], build: (x) => E.pad(T(x, 0), [1, 0, 2, 2]) },
  { name: "gather (repeated rows)", shapes: [[4, 3]], build: (x) => E.gather(T(x, 0), idx([2, 0, 2, 3, 2], [5])) },
  { name: "scatterAdd", shapes: [[2, 2, 3]], build: (x) => E.scatterAdd(T(x, 0), idx([3, 0, 3, 1], [2, 2]), [5, 3]) },
  // normalization
  { name: "groupNorm", shapes: [[2, 4, 3, 3], [4], [4]], build: (x) => E.groupNorm(T(x, 0), 2, T(x, 1), T(x, 2)) },
  { name: "groupInvStd", shapes: [[2, 4, 3, 3]], build: (x) => E.mul(E.groupInvStd(T(x, 0), 2), 1.5) },
  {
    name: "composite SiLU x·σ(x) (the A/B reference)",
    shapes: [[8]],
    build: (x) => E.mul(T(x, 0), E.sigmoid(T(x, 0))),
  },
  // convolutions (float64 goes through the Gather-im2col lowering)
  {
    name: "conv2d s1 p1",
    shapes: [
      [2, 3, 5, 5],
      [4, 3, 3, 3],
    ],
    build: (x) => E.conv2d(T(x, 0), T(x, 1), { padding: 1 }),
  },
  {
    name: "conv2d s2 p1 dilation 2, asymmetric pads",
    shapes: [
      [1, 2, 7, 6],
      [3, 2, 3, 2],
    ],
    build: (x) => E.conv2d(T(x, 0), T(x, 1), { stride: 2, padding: [1, 0, 2, 1], dilation: [2, 1] }),
  },
  {
    name: "convTranspose2d s2 p1 op1",
    shapes: [
      [2, 3, 3, 3],
      [3, 2, 3, 3],
    ],
    build: (x) => E.convTranspose2d(T(x, 0), T(x, 1), { stride: 2, padding: 1, outputPadding: 1 }),
  },
  {
    name: "convTranspose2d s1 dilation 2",
    shapes: [
      [1, 2, 4, 4],
      [2, 3, 3, 3],
    ],
    build: (x) => E.convTranspose2d(T(x, 0), T(x, 1), { dilation: 2, padding: 1 }),
  },
];

for (const c of cases) {
  test(`gradient of ${c.name} matches finite differences`, async () => {
    const { checked } = await gradCheck(c);
    assert.ok(checked > 0, "checked no entries");
  });
}

// Gradients of programs that already contain a gradient (sliced score matching, Hutchinson).
test("second order: gradient of a loss containing a VJP with respect to the input (conv net)", async () => {
  await gradCheck({
    name: "d/dθ Σ(vᵀ ∂f/∂x)²",
    shapes: [
      [1, 2, 5, 5],
      [3, 2, 3, 3],
      [3, 2, 3, 3],
      [1, 2, 5, 5],
    ],
    skip: [3],
    build: ([x, w1, w2, v]) => {
      const f = E.convTranspose2d(E.tanh(E.conv2d(x!, w1!, { stride: 2, padding: 1 })), w2!, { stride: 2, padding: 1 });
      const [jv] = E.vjp([f], [v!], [x!]);
      return E.mul(jv!, jv!);
    },
  });
});

test("second order: Hessian-vector product of an MLP with softplus and group-free layers", async () => {
  await gradCheck({
    name: "d/dθ vᵀ∇ₓ(Σ MLP(x))",
    shapes: [[4, 3], [5, 3], [5], [1, 5], [4, 3]],
    skip: [4],
    build: ([x, w1, b1, w2, v]) => {
      const y = E.linear(E.softplus(E.linear(x!, w1!, b1!)), w2!);
      const [gx] = E.grad(E.sum(E.mul(E.sin(y), y)), [x!]);
      return E.sum(E.mul(gx!, v!), [1]);
    },
  });
});

test("trace-time shape errors name the op and both shapes", () => {
  const a = E.input("a", [2, 3]),
    b = E.input("b", [4, 3]);
  assert.throws(() => E.add(a, b), /add: shapes \[2, 3\] and \[4, 3\] do not broadcast/);
  assert.throws(() => E.matmul(a, b), /matmul: inner dimensions differ: \[2, 3\] · \[4, 3\]/);
  assert.throws(
    () => E.conv2d(E.input("x", [1, 3, 8, 8]), E.input("w", [4, 2, 3, 3])),
    /conv2d: input \[1, 3, 8, 8\] has 3 channels but weight \[4, 2, 3, 3\] expects 2/,
  );
  assert.throws(() => E.reshape(a, [5]), /reshape: cannot reshape \[2, 3\] to \[5\]/);
});

test("second order through group norm: gradient of a loss containing the input-VJP of a GN block", async () => {
  await gradCheck({
    name: "d/dθ Σ(vᵀ ∂GN(conv(x))/∂x)²",
    shapes: [[2, 2, 4, 4], [4, 2, 3, 3], [4], [4], [2, 4, 4, 4]],
    skip: [4],
    build: ([x, w, gamma, beta, v]) => {
      const y = E.silu(E.groupNorm(E.conv2d(x!, w!, { padding: 1 }), 2, gamma!, beta!));
      const [jv] = E.vjp([y], [v!], [x!]);
      return E.mul(jv!, jv!);
    },
  });
});

test("group norm's float32 lowerings (LayerNormalization, InstanceNormalization) and its inverse std agree with the float64 reductions", async () => {
  const { Rng } = await import("../src/rng.ts");
  const { setNormKernel } = await import("../src/engine/lower.ts");
  const rng = new Rng(8);
  const xv = rng.normals(2 * 6 * 5 * 5) as Float64Array,
    gv = rng.normals(2 * 6 * 5 * 5) as Float64Array;
  // An offset and scale per sample, so the group statistics differ.
  xv.forEach((v, i) => {
    xv[i] = (i < 150 ? 3 : 0.2) * v + (i < 150 ? -2 : 5);
  });
  const run = async (dt: "float32" | "float64") => {
    const x = E.input("x", [2, 6, 5, 5], dt),
      g = E.input("g", [2, 6, 5, 5], dt);
    const y = E.groupNormalize(x, 3);
    const r = E.groupInvStd(x, 3);
    const [gx] = E.vjp([y], [g], [x]);
    return (await E.compile({ inputs: [x, g], outputs: { y, r, gx: gx! } })).run({ x: xv, g: gv });
  };
  const a = await run("float64");
  // 1/√(σ² + eps) from the definition, per sample and group of 2 channels × 25 pixels.
  for (let k = 0; k < 6; k++) {
    const grp = xv.slice(k * 50, k * 50 + 50);
    const mu = grp.reduce((s, v) => s + v, 0) / 50;
    const variance = grp.reduce((s, v) => s + (v - mu) ** 2, 0) / 50;
    assert.ok(Math.abs((a.r as Float64Array)[k]! - 1 / Math.sqrt(variance + 1e-5)) < 1e-12, `group ${k}`);
  }
  for (const kernel of ["layer", "instance"] as const) {
    setNormKernel(kernel);
    const b = await run("float32");
    setNormKernel();
    for (const k of ["y", "r", "gx"]) {
      let err = 0;
      (a[k] as Float64Array).forEach((v, i) => {
        err = Math.max(err, Math.abs(v - (b[k] as Float32Array)[i]!) / Math.max(1, Math.abs(v)));
      });
      assert.ok(err < 1e-4, `${kernel} ${k}: max error ${err}`);
    }
  }
});

test("group norm with its affine part, forward only: one channel per group runs as one InstanceNormalization with γ and β; all agree with float64", async () => {
  const { Rng } = await import("../src/rng.ts");
  const rng = new Rng(12);
  const xv = Float64Array.from(rng.normals(2 * 6 * 5 * 5) as Float64Array, (v, i) => (i % 7) * 0.5 + v * (1 + (i % 3))),
    gamma = rng.normals(6) as Float64Array,
    beta = rng.normals(6) as Float64Array;
  const run = async (dt: "float32" | "float64", groups: number) => {
    const x = E.input("x", [2, 6, 5, 5], dt),
      g = E.input("gamma", [6], dt),
      b = E.input("beta", [6], dt);
    const y = E.groupNorm(x, groups, g, b);
    const p = await E.compile({ inputs: [x, g, b], outputs: { y } });
    return { y: (await p.run({ x: xv, gamma, beta })).y!, text: new TextDecoder().decode(p.modelBytes) };
  };
  for (const groups of [6, 3]) {
    const want = (await run("float64", groups)).y as Float64Array;
    const got = await run("float32", groups);
    assert.equal(
      got.text.includes("Mul"),
      groups !== 6,
      `groups ${groups}: the affine part ${groups === 6 ? "inside" : "after"} the normalization`,
    );
    let err = 0;
    want.forEach((v, i) => {
      err = Math.max(err, Math.abs(v - (got.y as Float32Array)[i]!) / Math.max(1, Math.abs(v)));
    });
    assert.ok(err < 1e-4, `groups ${groups}: max error ${err}`);
  }
});

test("the alternative formulations (recomputed group statistics, composite group-norm affine, composite SiLU) give the same gradients", async () => {
  const { Rng } = await import("../src/rng.ts");
  const rng = new Rng(9);
  const xv = rng.normals(2 * 4 * 4 * 4) as Float64Array,
    vv = rng.normals(2 * 4 * 4 * 4) as Float64Array,
    gammav = rng.normals(4) as Float64Array,
    betav = rng.normals(4) as Float64Array;
  const run = async () => {
    const x = E.input("x", [2, 4, 4, 4], "float64"),
      v = E.input("v", [2, 4, 4, 4], "float64"),
      gamma = E.input("gamma", [4], "float64"),
      beta = E.input("beta", [4], "float64");
    const y = E.silu(E.groupNorm(x, 2, gamma, beta));
    const [jv, jg, jb] = E.vjp([y], [v], [x, gamma, beta]);
    const [hv, hg, hb] = E.grad(E.sum(E.mul(jv!, jv!)), [x, gamma, beta]);
    const outputs = { jv: jv!, jg: jg!, jb: jb!, hv: hv!, hg: hg!, hb: hb! };
    return (await E.compile({ inputs: [x, v, gamma, beta], outputs })).run({
      x: xv,
      v: vv,
      gamma: gammav,
      beta: betav,
    });
  };
  const fast = await run();
  E.setTraceVariants({ groupNormVjp: "recompute", groupNormAffine: "composite", silu: "composite" });
  const ref = await run();
  E.setTraceVariants();
  for (const k of ["jv", "jg", "jb", "hv", "hg", "hb"])
    (ref[k] as Float64Array).forEach((v, i) =>
      assert.ok(Math.abs((fast[k] as Float64Array)[i]! - v) < 1e-9 * Math.max(1, Math.abs(v)), `${k}[${i}]`),
    );
});
