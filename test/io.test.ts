import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, mkdir, writeFile, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "../src/rng.ts";
import {
  decodeSafetensors,
  encodeSafetensors,
  SafetensorsError,
  tensorToFloat32,
  f16ToNumber,
  bf16ToNumber,
  type SafeTensor,
} from "../src/io/safetensors.ts";
import {
  writeFileAtomic,
  writeJsonAtomic,
  readJsonFile,
  readSafetensorsFile,
  writeSafetensorsFile,
} from "../src/io/files.ts";
import {
  computeFans,
  calculateGain,
  zeros,
  ones,
  normal,
  uniform,
  xavierUniform,
  xavierNormal,
  kaimingUniform,
  kaimingNormal,
  varianceScaling,
  torchDefaultWeight,
  torchDefaultBias,
  paramCount,
  cloneParams,
  type ParamTree,
} from "../src/engine/init.ts";
import { saveCheckpoint, loadCheckpoint } from "../src/io/checkpoint.ts";

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "scoregen-io-"));
}

/** Element-wise identity including NaN and signed zero. */
function sameElements(a: ArrayLike<number | bigint>, b: ArrayLike<number | bigint>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** Raw safetensors bytes from a header object (no padding) and a data buffer. */
function rawFile(header: unknown, data: Uint8Array, headerLenOverride?: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, headerLenOverride ?? json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe("safetensors", () => {
  test("round trip of every dtype, with metadata", () => {
    const tensors: Record<string, SafeTensor> = {
      f64: { dtype: "F64", shape: [2, 3], data: Float64Array.of(1.5, -0, NaN, Infinity, -1e300, 5e-324) },
      f32: { dtype: "F32", shape: [3], data: Float32Array.of(0.1, -3.25, -Infinity) },
      f16: { dtype: "F16", shape: [2], data: Uint16Array.of(0x3c00, 0xc000) },
      bf16: { dtype: "BF16", shape: [2], data: Uint16Array.of(0x3f80, 0x4049) },
      i64: { dtype: "I64", shape: [3], data: BigInt64Array.of(-(2n ** 63n), 2n ** 62n + 7n, -1n) },
      u64: { dtype: "U64", shape: [1], data: BigUint64Array.of(2n ** 64n - 1n) },
      i32: { dtype: "I32", shape: [2, 2], data: Int32Array.of(-2147483648, 2147483647, 0, -5) },
      u32: { dtype: "U32", shape: [1], data: Uint32Array.of(4294967295) },
      i16: { dtype: "I16", shape: [2], data: Int16Array.of(-32768, 123) },
      u16: { dtype: "U16", shape: [1], data: Uint16Array.of(65535) },
      i8: { dtype: "I8", shape: [3], data: Int8Array.of(-128, 0, 127) },
      u8: { dtype: "U8", shape: [1, 5], data: Uint8Array.of(0, 1, 2, 254, 255) },
      bool: { dtype: "BOOL", shape: [2], data: Uint8Array.of(1, 0) },
      scalar: { dtype: "F32", shape: [], data: Float32Array.of(42) },
      empty: { dtype: "F32", shape: [0, 4], data: new Float32Array(0) },
    };
    const metadata = { format: "pt", note: "héllo ✓", step: "12" };
    const bytes = encodeSafetensors(tensors, metadata);
    const back = decodeSafetensors(bytes);
    assert.deepEqual(back.metadata, metadata);
    assert.deepEqual([...back.tensors.keys()].sort(), Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const u = back.tensors.get(name)!;
      assert.equal(u.dtype, t.dtype, name);
      assert.deepEqual(u.shape, t.shape, name);
      assert.equal(u.data.constructor, t.data.constructor, name);
      assert.ok(sameElements(u.data, t.data), `${name}: ${[...u.data]} vs ${[...t.data]}`);
    }
    // Decoded arrays are independent copies: changing the bytes afterwards does not change them.
    bytes.fill(0);
    assert.equal(back.tensors.get("f32")!.data[1], -3.25);
  });

  test("half-precision helpers decode known bit patterns", () => {
    assert.equal(f16ToNumber(0x3c00), 1);
    assert.equal(f16ToNumber(0xc000), -2);
    assert.equal(f16ToNumber(0x0001), 2 ** -24);
    assert.equal(f16ToNumber(0x7c00), Infinity);
    assert.equal(bf16ToNumber(0x3f80), 1);
    assert.equal(bf16ToNumber(0x4049), 3.140625);
    assert.deepEqual([...tensorToFloat32({ dtype: "I64", shape: [2], data: BigInt64Array.of(-3n, 9n) })], [-3, 9]);
  });

  test("byte layout matches the specification, checked by hand", () => {
    // Sorted by element size (F64 before I32), then name; compact JSON; metadata first; space padding.
    const bytes = encodeSafetensors(
      {
        b: { dtype: "I32", shape: [1], data: Int32Array.of(7) },
        a: { dtype: "F64", shape: [2], data: Float64Array.of(1.5, -2) },
      },
      { k: "v" },
    );
    const json =
      '{"__metadata__":{"k":"v"},"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"b":{"dtype":"I32","shape":[1],"data_offsets":[16,20]}}';
    assert.equal(json.length, 135);
    const n = 136; // 135 rounded up to a multiple of 8 (8 + n is then a multiple of 8)
    assert.deepEqual([...bytes.subarray(0, 8)], [136, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(new TextDecoder().decode(bytes.subarray(8, 8 + n)), `${json} `);
    assert.equal(bytes.length, 8 + n + 20);
    assert.deepEqual(
      [...bytes.subarray(8 + n)],
      [
        0,
        0,
        0,
        0,
        0,
        0,
        0xf8,
        0x3f, // 1.5 as little-endian float64
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0xc0, //    -2
        7,
        0,
        0,
        0, //                    7 as little-endian int32
      ],
    );
    // Without metadata, no __metadata__ key and padding to 8 again.
    const plain = encodeSafetensors({ x: { dtype: "U8", shape: [3], data: Uint8Array.of(9, 8, 7) } });
    const j2 = '{"x":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}}';
    const n2 = Math.ceil(j2.length / 8) * 8;
    assert.equal(new DataView(plain.buffer).getUint32(0, true), n2);
    assert.equal(new TextDecoder().decode(plain.subarray(8, 8 + n2)).trimEnd(), j2);
    assert.deepEqual([...plain.subarray(8 + n2)], [9, 8, 7]);
  });

  test("decoding corrupt data fails with a clear error", () => {
    const good = { t: { dtype: "F32", shape: [2], data_offsets: [0, 8] } };
    const data8 = new Uint8Array(8);
    // sanity: the hand-built good file decodes
    assert.equal(decodeSafetensors(rawFile(good, data8)).tensors.get("t")!.data.length, 2);
    const cases: [string, Uint8Array, RegExp][] = [
      ["too short", new Uint8Array(5), /only 5 bytes/],
      ["header past end", rawFile(good, data8, 10_000), /runs past the end.*truncated/],
      ["huge header length", rawFile(good, data8, 0xffffffff), /exceeds/],
      ["truncated data", rawFile(good, data8.subarray(0, 7)), /run past the end|truncated/],
      ["trailing bytes", rawFile(good, new Uint8Array(9)), /cover 8 bytes of data but the buffer has 9/],
      ["not JSON", rawFile("{nope", data8), /not valid JSON/],
      ["not an object header", rawFile("[1,2]", data8), /does not start with '\{'/],
      [
        "unknown dtype",
        rawFile({ t: { dtype: "F128", shape: [2], data_offsets: [0, 8] } }, data8),
        /unsupported dtype "F128"/,
      ],
      [
        "size mismatch",
        rawFile({ t: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, data8),
        /needs 12 bytes but data_offsets \[0, 8\] span 8/,
      ],
      ["gap", rawFile({ t: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, data8), /gap/],
      [
        "overlap",
        rawFile(
          {
            a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
            b: { dtype: "F32", shape: [1], data_offsets: [4, 8] },
          },
          data8,
        ),
        /overlap/,
      ],
      ["bad shape", rawFile({ t: { dtype: "F32", shape: [-2], data_offsets: [0, 8] } }, data8), /shape must be/],
      ["bad metadata", rawFile({ __metadata__: { a: 1 }, ...good }, data8), /"__metadata__"."a" must be a string/],
    ];
    for (const [what, bytes, re] of cases) {
      assert.throws(
        () => decodeSafetensors(bytes, "ckpt.safetensors"),
        (e: unknown) => {
          assert.ok(e instanceof SafetensorsError, `${what}: ${String(e)}`);
          assert.match(e.message, /^ckpt\.safetensors: /, what);
          assert.match(e.message, re, `${what}: ${e.message}`);
          return true;
        },
        what,
      );
    }
  });

  test("encoding rejects inconsistent tensors", () => {
    assert.throws(
      () => encodeSafetensors({ w: { dtype: "F32", shape: [2, 2], data: new Float32Array(3) } }),
      /"w": shape \[2, 2\] has 4 elements but data has 3/,
    );
    assert.throws(
      () => encodeSafetensors({ w: { dtype: "F64", shape: [1], data: new Float32Array(1) } as unknown as SafeTensor }),
      /dtype F64 needs a Float64Array, got Float32Array/,
    );
    assert.throws(
      () => encodeSafetensors({ w: { dtype: "BOOL", shape: [1], data: Uint8Array.of(2) } }),
      /BOOL data must be 0 or 1/,
    );
    assert.throws(() => encodeSafetensors({}, { a: 3 as unknown as string }), /metadata "a" must be a string/);
  });

  test("file helpers round trip and name the file on errors", async () => {
    const dir = await tempDir();
    try {
      const p = join(dir, "w.safetensors");
      await writeSafetensorsFile(p, { x: { dtype: "F32", shape: [2], data: Float32Array.of(1, 2) } }, { a: "b" });
      const r = await readSafetensorsFile(p);
      assert.deepEqual([...r.tensors.get("x")!.data], [1, 2]);
      assert.deepEqual(r.metadata, { a: "b" });
      await assert.rejects(readSafetensorsFile(join(dir, "nope.safetensors")), /file not found: .*nope\.safetensors/);
      const bytes = await readFile(p);
      await writeFile(p, bytes.subarray(0, bytes.length - 1));
      await assert.rejects(readSafetensorsFile(p), (e: Error) => e.message.startsWith(`${p}: `));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("atomic writes", () => {
  test("success leaves only the target, with the new content", async () => {
    const dir = await tempDir();
    try {
      const p = join(dir, "out.bin");
      await writeFile(p, "old");
      await writeFileAtomic(p, Uint8Array.of(1, 2, 3));
      assert.deepEqual([...(await readFile(p))], [1, 2, 3]);
      await writeFileAtomic(p, "text ✓");
      assert.equal(await readFile(p, "utf8"), "text ✓");
      assert.deepEqual(await readdir(dir), ["out.bin"]);
      await writeFileAtomic(join(dir, "sub", "deep.txt"), "x", { mkdirs: true });
      assert.equal(await readFile(join(dir, "sub", "deep.txt"), "utf8"), "x");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("a failed write removes its temporary file and leaves the target alone", async () => {
    const dir = await tempDir();
    try {
      // The target is a non-empty folder: the final rename fails after the temp file was written.
      const target = join(dir, "target");
      await mkdir(target);
      await writeFile(join(target, "keep.txt"), "keep");
      await assert.rejects(writeFileAtomic(target, new Uint8Array(1000)), (e: Error) => {
        assert.match(e.message, /could not write .*target/);
        return true;
      });
      assert.deepEqual(await readdir(dir), ["target"]);
      assert.deepEqual(await readdir(target), ["keep.txt"]);
      // Missing parent folder: nothing is created, and the error says so.
      await assert.rejects(writeFileAtomic(join(dir, "missing", "f.txt"), "x"), /does the folder .*missing exist/);
      assert.deepEqual(await readdir(dir), ["target"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("writeJsonAtomic writes pretty JSON and refuses NaN with its key path", async () => {
    const dir = await tempDir();
    try {
      const p = join(dir, "c.json");
      await writeJsonAtomic(p, { a: 1, b: [true, "x"], c: { d: null } });
      assert.equal(
        await readFile(p, "utf8"),
        '{\n  "a": 1,\n  "b": [\n    true,\n    "x"\n  ],\n  "c": {\n    "d": null\n  }\n}\n',
      );
      assert.deepEqual(await readJsonFile(p), { a: 1, b: [true, "x"], c: { d: null } });
      await assert.rejects(writeJsonAtomic(join(dir, "bad.json"), { a: { b: [1, NaN] } }), /\$\.a\.b\[1\] is NaN/);
      assert.deepEqual(await readdir(dir), ["c.json"]);
      await writeFile(join(dir, "broken.json"), "{");
      await assert.rejects(readJsonFile(join(dir, "broken.json")), /broken\.json is not valid JSON/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

function stats(a: ArrayLike<number>): { mean: number; std: number; min: number; max: number } {
  let s = 0,
    s2 = 0,
    min = Infinity,
    max = -Infinity;
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    s += v;
    s2 += v * v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const mean = s / a.length;
  return { mean, std: Math.sqrt(s2 / a.length - mean * mean), min, max };
}

describe("initializers", () => {
  test("fans and gains follow PyTorch's rules", () => {
    assert.deepEqual(computeFans([64, 32]), { fanIn: 32, fanOut: 64 });
    assert.deepEqual(computeFans([64, 32, 3, 3]), { fanIn: 288, fanOut: 576 });
    assert.throws(() => computeFans([5]), /at least 2 dimensions/);
    assert.equal(calculateGain("relu"), Math.SQRT2);
    assert.equal(calculateGain("tanh"), 5 / 3);
    assert.ok(Math.abs(calculateGain("leaky_relu", Math.sqrt(5)) - 1 / Math.sqrt(3)) < 1e-15);
    assert.ok(Math.abs(calculateGain("leaky_relu") - Math.sqrt(2 / 1.0001)) < 1e-15);
  });

  test("same seed gives the same numbers, another seed other numbers", () => {
    const a = kaimingNormal([16, 8, 3, 3], new Rng(7)),
      b = kaimingNormal([16, 8, 3, 3], new Rng(7)),
      c = kaimingNormal([16, 8, 3, 3], new Rng(8));
    assert.ok(sameElements(a.data, b.data));
    assert.ok(!sameElements(a.data, c.data));
    assert.ok(a.data instanceof Float32Array);
    assert.ok(normal([3], 1, new Rng(1), { dtype: "float64" }).data instanceof Float64Array);
  });

  test("constant initializers", () => {
    assert.deepEqual([...zeros([2, 2]).data], [0, 0, 0, 0]);
    assert.deepEqual([...ones([3]).data], [1, 1, 1]);
    assert.deepEqual(ones([2, 3]).shape, [2, 3]);
  });

  test("distribution statistics match their definitions", () => {
    const rng = new Rng(123);
    const tol = (x: number, want: number, rel: number, what: string) =>
      assert.ok(Math.abs(x - want) <= rel * Math.abs(want), `${what}: ${x} vs ${want}`);
    // N = 40k+ samples: relative std error of the std ≈ 1/√(2N) < 0.4 %; 3 % tolerance is loose.
    const n1 = normal([200, 200], 0.3, rng, { mean: 1 });
    const s1 = stats(n1.data);
    tol(s1.std, 0.3, 0.03, "normal std");
    assert.ok(Math.abs(s1.mean - 1) < 0.01);

    const u = uniform([200, 200], -2, 3, rng);
    const su = stats(u.data);
    assert.ok(su.min >= -2 && su.max <= 3);
    tol(su.std, 5 / Math.sqrt(12), 0.03, "uniform std");
    assert.ok(su.min < -1.99 && su.max > 2.99);

    const shape = [128, 64, 3, 3],
      fanIn = 576,
      fanOut = 1152;
    const xb = Math.sqrt(6 / (fanIn + fanOut));
    const xu = stats(xavierUniform(shape, rng).data);
    assert.ok(xu.max <= xb && xu.min >= -xb && xu.max > 0.99 * xb, `xavier bound ${xu.max} vs ${xb}`);
    tol(xu.std, xb / Math.sqrt(3), 0.03, "xavier uniform std");
    tol(
      stats(xavierNormal(shape, rng, { gain: 2 }).data).std,
      2 * Math.sqrt(2 / (fanIn + fanOut)),
      0.03,
      "xavier normal std",
    );

    const kb = (Math.sqrt(3) * Math.SQRT2) / Math.sqrt(fanIn);
    const ku = stats(kaimingUniform(shape, rng).data);
    assert.ok(ku.max <= kb && ku.min >= -kb && ku.max > 0.99 * kb, `kaiming bound ${ku.max} vs ${kb}`);
    tol(stats(kaimingNormal(shape, rng).data).std, Math.SQRT2 / Math.sqrt(fanIn), 0.03, "kaiming normal std (fan_in)");
    tol(
      stats(kaimingNormal(shape, rng, { mode: "fan_out", nonlinearity: "relu" }).data).std,
      Math.SQRT2 / Math.sqrt(fanOut),
      0.03,
      "kaiming normal std (fan_out)",
    );

    // PyTorch defaults: weights and biases U(±1/√fan_in).
    const dense = [300, 200];
    const tw = stats(torchDefaultWeight(dense, rng).data),
      bound = 1 / Math.sqrt(200);
    assert.ok(
      tw.max <= bound && tw.min >= -bound && tw.max > 0.99 * bound && tw.min < -0.99 * bound,
      `torch weight bound ${tw.min}, ${tw.max} vs ${bound}`,
    );
    tol(tw.std, bound / Math.sqrt(3), 0.03, "torch weight std");
    const tb = stats(torchDefaultBias([5000], computeFans(dense).fanIn, rng).data);
    assert.ok(tb.max <= bound && tb.min >= -bound && tb.max > 0.99 * bound);
    assert.deepEqual([...torchDefaultBias([3], 0, rng).data], [0, 0, 0]);
  });

  test("each fan-based initializer draws exactly its defining distribution", () => {
    // Same seed ⇒ same underlying draws, so each must equal uniform/normal with the closed-form bound/std.
    const shape = [24, 10, 3, 3],
      fanIn = 90,
      fanOut = 216;
    const eq = (a: { data: ArrayLike<number> }, b: { data: ArrayLike<number> }, what: string) =>
      assert.ok(sameElements(a.data, b.data), what);
    const kb = (Math.sqrt(3) * Math.SQRT2) / Math.sqrt(fanIn);
    eq(kaimingUniform(shape, new Rng(1)), uniform(shape, -kb, kb, new Rng(1)), "kaiming uniform");
    eq(
      kaimingNormal(shape, new Rng(1), { mode: "fan_out", nonlinearity: "tanh" }),
      normal(shape, 5 / 3 / Math.sqrt(fanOut), new Rng(1)),
      "kaiming normal fan_out tanh",
    );
    const xb = Math.sqrt(6 / (fanIn + fanOut));
    eq(xavierUniform(shape, new Rng(2)), uniform(shape, -xb, xb, new Rng(2)), "xavier uniform");
    eq(xavierNormal(shape, new Rng(2)), normal(shape, Math.sqrt(2 / (fanIn + fanOut)), new Rng(2)), "xavier normal");
    // PyTorch default: kaiming_uniform(a=√5) is U(±1/√fan_in) up to rounding of the bound.
    const tw = torchDefaultWeight(shape, new Rng(3)),
      ref = uniform(shape, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn), new Rng(3));
    for (let i = 0; i < tw.data.length; i++) assert.ok(Math.abs(tw.data[i]! - ref.data[i]!) < 1e-7);
  });

  test("variance scaling with scale 1, fan_avg, uniform is Xavier uniform", () => {
    const a = varianceScaling([32, 16, 3, 3], new Rng(5));
    const b = xavierUniform([32, 16, 3, 3], new Rng(5));
    for (let i = 0; i < a.data.length; i++) assert.ok(Math.abs(a.data[i]! - b.data[i]!) < 1e-7);
    const tiny = stats(varianceScaling([32, 16], new Rng(5), { scale: 0 }).data);
    assert.ok(tiny.max > 0 && tiny.max < 1e-5);
  });
});

describe("checkpoints", () => {
  function model(rng: Rng): ParamTree {
    return new Map([
      ["down.0.conv.weight", kaimingUniform([8, 1, 3, 3], rng)],
      ["down.0.conv.bias", zeros([8])],
      ["embed.weight", normal([4, 6], 1, rng, { dtype: "float64" })],
    ]);
  }

  test("round trip of parameters, config, step and extra tensors", async () => {
    const dir = join(await tempDir(), "ckpt");
    try {
      const params = model(new Rng(1));
      const extra = {
        "adam.m.down.0.conv.weight": { shape: [8, 1, 3, 3], data: new Float32Array(72).fill(0.5) },
        "adam.t": { dtype: "I64" as const, shape: [], data: BigInt64Array.of(1234n) },
      };
      const config = { model: "mlp", channels: [8, 16], sigma: { min: 0.01, max: 50 } };
      await saveCheckpoint(dir, { params, config, step: 1234, extra });
      assert.deepEqual((await readdir(dir)).sort(), ["checkpoints", "config.json"]);
      assert.deepEqual(await readdir(join(dir, "checkpoints")), ["step-00001234.safetensors"]);
      const ck = await loadCheckpoint(dir, params);
      assert.equal(ck.step, 1234);
      assert.deepEqual(ck.config, config);
      assert.equal(ck.metadata.format, "scoregen-checkpoint");
      assert.deepEqual([...ck.params.keys()].sort(), [...params.keys()].sort());
      for (const [k, p] of params) {
        const q = ck.params.get(k)!;
        assert.deepEqual(q.shape, p.shape);
        assert.equal(q.data.constructor, p.data.constructor, k);
        assert.ok(sameElements(q.data, p.data), k);
      }
      assert.equal(ck.extra.get("adam.t")!.data[0], 1234n);
      assert.equal(ck.extra.get("adam.m.down.0.conv.weight")!.dtype, "F32");
      assert.equal(paramCount(ck.params), 72 + 8 + 24);
      // Overwriting in place works and leaves no temporary files.
      const p2 = cloneParams(params);
      p2.get("down.0.conv.bias")!.data.fill(3);
      await saveCheckpoint(dir, { params: p2, config, step: 1300 });
      const ck2 = await loadCheckpoint(dir);
      assert.equal(ck2.step, 1300);
      assert.deepEqual([...ck2.params.get("down.0.conv.bias")!.data], new Array(8).fill(3));
      assert.equal(ck2.extra.size, 0);
      assert.deepEqual((await readdir(dir)).sort(), ["checkpoints", "config.json"]);
      assert.deepEqual((await readdir(join(dir, "checkpoints"))).sort(), [
        "step-00001234.safetensors",
        "step-00001300.safetensors",
      ]);
    } finally {
      await rm(join(dir, ".."), { recursive: true, force: true });
    }
  });

  test("a mismatched model lists every missing, unexpected and mis-shaped tensor in one error", async () => {
    const dir = await tempDir();
    try {
      await saveCheckpoint(dir, { params: model(new Rng(2)), config: {} });
      const expected = new Map<string, number[]>([
        ["down.0.conv.weight", [16, 1, 3, 3]], // mis-shaped
        ["down.0.conv.bias", [8]], // fine
        ["up.0.conv.weight", [1, 8, 3, 3]], // missing
      ]); // "embed.weight" is unexpected
      await assert.rejects(loadCheckpoint(dir, expected), (e: Error) => {
        assert.match(e.message, /3 problems/);
        assert.match(
          e.message,
          /wrong shape for "down\.0\.conv\.weight": expected \[16, 1, 3, 3\], found \[8, 1, 3, 3\]/,
        );
        assert.match(e.message, /missing "up\.0\.conv\.weight": expected shape \[1, 8, 3, 3\]/);
        assert.match(e.message, /unexpected "embed\.weight": found shape \[4, 6\]/);
        assert.doesNotMatch(e.message, /"down\.0\.conv\.bias"/);
        assert.match(e.message, /Fix: build the model with the configuration stored with the checkpoint/);
        return true;
      });
      // The same spec written as a record of shapes works too, and a matching spec loads.
      await loadCheckpoint(dir, {
        "down.0.conv.weight": [8, 1, 3, 3],
        "down.0.conv.bias": [8],
        "embed.weight": [4, 6],
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("missing folder or file names the path; an interrupted save of a version-1 folder is detected", async () => {
    const dir = await tempDir();
    try {
      await assert.rejects(loadCheckpoint(join(dir, "nope")), (e: Error) =>
        e.message.includes(`checkpoint folder not found: ${join(dir, "nope")}`),
      );
      // version 1 (scoregen before step-numbered checkpoints): model.safetensors + config.json
      const p = model(new Rng(3));
      await writeSafetensorsFile(
        join(dir, "model.safetensors"),
        new Map(
          [...p].map(([k, t]) => [
            k,
            t.data instanceof Float64Array
              ? { dtype: "F64" as const, shape: t.shape, data: t.data }
              : { dtype: "F32" as const, shape: t.shape, data: t.data },
          ]),
        ),
        { format: "scoregen-checkpoint", version: "1", step: "5" },
      );
      await writeJsonAtomic(join(dir, "config.json"), {
        format: "scoregen-checkpoint",
        version: 1,
        step: 5,
        config: { a: 1 },
      });
      assert.equal((await loadCheckpoint(dir)).step, 5);
      const cfg = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
      await writeFile(join(dir, "config.json"), JSON.stringify({ ...cfg, step: 4 }));
      await assert.rejects(
        loadCheckpoint(dir),
        /inconsistent: model\.safetensors is from step 5 but config\.json from step 4/,
      );
      await unlink(join(dir, "config.json"));
      await assert.rejects(loadCheckpoint(dir), (e: Error) =>
        e.message.includes(`checkpoint file missing: ${join(dir, "config.json")}`),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("saving refuses non-finite parameters and bad names, writing nothing", async () => {
    const dir = await tempDir();
    try {
      const params = model(new Rng(4));
      params.get("embed.weight")!.data[3] = NaN;
      await assert.rejects(
        saveCheckpoint(join(dir, "a"), { params, config: {} }),
        /"embed\.weight" has a non-finite value \(NaN\) at index 3/,
      );
      await assert.rejects(
        saveCheckpoint(join(dir, "b"), { params: new Map([["bad name", zeros([1])]]), config: {} }),
        /invalid parameter name "bad name"/,
      );
      assert.deepEqual(await readdir(dir), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
