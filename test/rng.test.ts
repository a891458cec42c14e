/**
 * Random numbers: Philox4x32-10 against the Random123 known answers, the portable log/sin/cos of
 * src/exact-math.ts against Math (which engines may round differently), the normal distribution by
 * moments and a χ² test on exact normal quantiles, and a pinned known-answer vector of normals.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng, philox4x32 } from "../src/rng.ts";
import { logExact, sinCosTurns } from "../src/exact-math.ts";
import { normalPairs, setRngWasm } from "../src/rng-wasm.ts";
import { NORMAL_KAT, NORMAL_KAT_SEED, float64Hex } from "./helpers/rng-kat.ts";

const hex = (a: Uint32Array) => [...a].map((x) => x.toString(16).padStart(8, "0"));

test("philox4x32-10 reproduces the Random123 known-answer vectors", () => {
  assert.deepEqual(hex(philox4x32([0, 0, 0, 0], [0, 0])), ["6627e8d5", "e169c58d", "bc57ac4c", "9b00dbd8"]);
  assert.deepEqual(hex(philox4x32([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff])), [
    "408f276d",
    "41c83b0e",
    "a20bc7c6",
    "6d5451fd",
  ]);
  assert.deepEqual(hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0])), [
    "d16cfe09",
    "94fdcceb",
    "5001e420",
    "24126ea1",
  ]);
});

test("logExact agrees with Math.log to 2 ulp over the whole double range", () => {
  const rng = new Rng(11);
  const xs = [
    Number.MIN_VALUE,
    2 ** -1022,
    1e-300,
    2 ** -53,
    0.5,
    Math.SQRT1_2,
    1 - 2 ** -53,
    1,
    1 + 2 ** -52,
    Math.SQRT2,
    2,
    Math.E,
    10,
    1e300,
    Number.MAX_VALUE,
  ];
  for (let i = 0; i < 20000; i++) xs.push(rng.uniform() * 2 ** (Math.floor(rng.uniform() * 200) - 100));
  for (const x of xs) {
    const a = logExact(x),
      b = Math.log(x);
    assert.ok(
      Math.abs(a - b) <= 2 * Number.EPSILON * Math.max(Math.abs(b), 2 ** -1022 / Number.EPSILON),
      `log(${x}): ${a} vs ${b}`,
    );
  }
  assert.equal(logExact(1), 0);
  assert.throws(() => logExact(0), /positive finite/);
  assert.throws(() => logExact(-1), /positive finite/);
  assert.throws(() => logExact(NaN), /positive finite/);
});

test("sinCosTurns(u) agrees with Math.sin/cos(2πu) to 1e-15 and keeps sin²+cos² = 1", () => {
  const rng = new Rng(12);
  const us = [0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1 - 2 ** -53, 2 ** -54, 3.3, 12345.678];
  for (let i = 0; i < 20000; i++) us.push(rng.uniform());
  for (const u of us) {
    const [s, c] = sinCosTurns(u);
    // Math's result carries the rounding of 2π·u (≤ |2πu|·2^-53), so compare in absolute terms.
    const tol = 1e-15 * Math.max(1, Math.abs(u));
    assert.ok(Math.abs(s - Math.sin(2 * Math.PI * u)) <= tol, `sin(2π·${u}): ${s}`);
    assert.ok(Math.abs(c - Math.cos(2 * Math.PI * u)) <= tol, `cos(2π·${u}): ${c}`);
    assert.ok(Math.abs(s * s + c * c - 1) <= 4 * Number.EPSILON);
  }
  // Exact quarter turns.
  assert.deepEqual(sinCosTurns(0.25), [1, -0]);
  assert.deepEqual(sinCosTurns(0.5).map(Math.abs), [0, 1]);
  for (const v of sinCosTurns(1 / 8)) assert.ok(Math.abs(v - Math.SQRT1_2) <= Number.EPSILON / 2, `π/4: ${v}`); // within 1 ulp of √½
});

test("Rng.normal equals the Math-based Box–Muller transform to 1e-15 relative", () => {
  const a = new Rng(5),
    b = new Rng(5);
  for (let i = 0; i < 5000; i++) {
    const u1 = b.uniform(),
      u2 = b.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    const ref = [r * Math.cos(2 * Math.PI * u2), r * Math.sin(2 * Math.PI * u2)];
    for (const z of ref) {
      const got = a.normal();
      assert.ok(Math.abs(got - z) <= 1e-15 * Math.max(1, r), `normal #${i}: ${got} vs ${z}`);
    }
  }
});

test("Rng.normal is standard normal: moments within 5 standard errors, χ² on decile bins", () => {
  const n = 200_000,
    z = new Rng(77).normals(n) as Float64Array;
  let m1 = 0,
    m2 = 0,
    m3 = 0,
    m4 = 0;
  for (const v of z) {
    m1 += v;
    m2 += v * v;
    m3 += v ** 3;
    m4 += v ** 4;
  }
  m1 /= n;
  m2 /= n;
  m3 /= n;
  m4 /= n;
  // Standard errors of the sample moments of N(0,1): √(1/n), √(2/n), √(15/n), √(96/n).
  assert.ok(Math.abs(m1) < 5 * Math.sqrt(1 / n), `mean ${m1}`);
  assert.ok(Math.abs(m2 - 1) < 5 * Math.sqrt(2 / n), `variance ${m2}`);
  assert.ok(Math.abs(m3) < 5 * Math.sqrt(15 / n), `third moment ${m3}`);
  assert.ok(Math.abs(m4 - 3) < 5 * Math.sqrt(96 / n), `fourth moment ${m4}`);
  // Deciles of N(0,1) (Φ⁻¹(k/10)); each bin holds 1/10 of the mass.
  const q = [1.2815515655446004, 0.8416212335729143, 0.5244005127080407, 0.2533471031357997];
  const edges = [-q[0]!, -q[1]!, -q[2]!, -q[3]!, 0, q[3]!, q[2]!, q[1]!, q[0]!];
  const counts = new Array(10).fill(0);
  for (const v of z) {
    let k = 0;
    while (k < 9 && v >= edges[k]!) k++;
    counts[k]++;
  }
  const chi2 = counts.reduce((s, c) => s + (c - n / 10) ** 2 / (n / 10), 0);
  assert.ok(chi2 < 27.88, `χ²(9) = ${chi2} exceeds the 0.1% critical value; counts ${counts}`); // P(χ²₉ > 27.88) = 0.001
  // Tails: P(|Z| > 3) = 0.0026998.
  const tail = z.reduce((s, v) => s + (Math.abs(v) > 3 ? 1 : 0), 0) / n;
  assert.ok(Math.abs(tail - 0.0026998) < 5 * Math.sqrt(0.0027 / n), `tail mass ${tail}`);
});

test("Rng.normal reproduces the pinned known-answer vector bit for bit", () => {
  const r = new Rng(NORMAL_KAT_SEED);
  const z = new Float64Array(NORMAL_KAT.length);
  for (let i = 0; i < z.length; i++) z[i] = r.normal();
  assert.deepEqual(float64Hex(z), [...NORMAL_KAT]);
});

test("Rng.normals (block fast path) gives the bits of repeated normal() from any stream position", () => {
  for (const skip of [0, 1, 2, 3, 5]) {
    for (const n of [0, 1, 2, 7, 1000, 1001]) {
      const a = new Rng(31, 2),
        b = new Rng(31, 2);
      for (const r of [a, b])
        for (let k = 0; k < skip; k++) {
          if (k % 2) r.normal();
          else r.nextU32();
        }
      const fast = a.normals(n) as Float64Array;
      const slow = Float64Array.from({ length: n }, () => b.normal());
      assert.deepEqual(float64Hex(fast), float64Hex(slow), `skip ${skip}, n ${n}`);
      // Both streams continue identically afterwards (counter, buffered words and spare normal agree).
      assert.deepEqual([a.normal(), a.uniform(), a.nextU32()], [b.normal(), b.uniform(), b.nextU32()]);
    }
  }
  const f32 = new Rng(4).normals(9, new Float32Array(9));
  const ref = new Rng(4);
  assert.deepEqual(
    [...f32],
    Array.from({ length: 9 }, () => Math.fround(ref.normal())),
  );
});

test("WebAssembly normals: the JavaScript bits across chunk boundaries, for float32 output, and past 2^32 blocks", () => {
  // Both paths of Rng.normals from a mid-block position, n spanning several WebAssembly calls.
  const n = 70001;
  const draw = () => {
    const r = new Rng(8, 3);
    r.nextU32();
    return [r.normals(n) as Float64Array, r.normals(11, new Float32Array(11)) as Float32Array, r.normal()] as const;
  };
  const wasm = draw();
  setRngWasm(false);
  const js = draw();
  setRngWasm();
  assert.deepEqual(float64Hex(wasm[0]), float64Hex(js[0]));
  assert.deepEqual([...wasm[1]], [...js[1]]);
  assert.equal(wasm[2], js[2]);
  // The counter's high word: blocks 2^32 − 3 … 2^32 + 4 against Philox and exact-math directly.
  const [k0, k1] = [0x12345678, 0x9abcdef0];
  const start = 2 ** 32 - 3,
    pairs = 8;
  const out = new Float64Array(2 * pairs);
  assert.ok(normalPairs(k0, k1, start, pairs, out, 0), "WebAssembly is available in Node");
  const uniform = (a: number, b: number) => ((a >>> 5) * 67108864 + (b >>> 6) + 0.5) * 2 ** -53;
  for (let p = 0; p < pairs; p++) {
    const c = start + p;
    const w = philox4x32([c % 2 ** 32, Math.floor(c / 2 ** 32), 0, 0], [k0, k1]);
    const r = Math.sqrt(-2 * logExact(uniform(w[0]!, w[1]!)));
    const [sin, cos] = sinCosTurns(uniform(w[2]!, w[3]!));
    assert.deepEqual([out[2 * p], out[2 * p + 1]], [r * cos, r * sin], `block ${c}`);
  }
});
