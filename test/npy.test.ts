import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { decodeNpy, encodeNpy } from "../src/io/npy.ts";

describe(".npy arrays", () => {
  it("encode → decode round trip keeps shape and float32 values; the data starts at a multiple of 64 bytes", () => {
    for (const shape of [[2, 3, 4, 5], [7], [1, 1, 28, 28]]) {
      const size = shape.reduce((a, b) => a * b, 1);
      const data = Float32Array.from({ length: size }, (_, i) => Math.sin(i) * 3);
      const bytes = encodeNpy(data, shape);
      const headerLen = bytes[8]! + 256 * bytes[9]!;
      assert.equal((10 + headerLen) % 64, 0);
      assert.equal(bytes[10 + headerLen - 1], 0x0a, "header ends with a newline");
      const back = decodeNpy(bytes);
      assert.deepEqual(back.shape, shape);
      assert.ok(back.data instanceof Float32Array);
      assert.deepEqual(back.data, data);
    }
  });

  it("reads arrays written by numpy.save (float64 [2,3,2,2] and float32 [5])", async () => {
    const a = decodeNpy(await readFile(new URL("./fixtures/numpy-f8-2x3x2x2.npy", import.meta.url)));
    assert.deepEqual(a.shape, [2, 3, 2, 2]);
    assert.deepEqual(
      [...a.data],
      Array.from({ length: 24 }, (_, i) => i / 8 - 1),
    );
    const b = decodeNpy(await readFile(new URL("./fixtures/numpy-f4-5.npy", import.meta.url)));
    assert.deepEqual([...b.data], [...Float32Array.of(0.5, -1, 2, 3.25, 1e-3)]);
  });

  it("refuses other files, other dtypes and a shape that does not hold the data", () => {
    assert.throws(() => decodeNpy(new TextEncoder().encode("PNG........"), "a.png"), /a.png is not a NumPy .npy file/);
    const bytes = encodeNpy([1, 2], [2]);
    bytes.set(new TextEncoder().encode("<i8"), bytes.indexOf(0x3c)); // '<f4' → '<i8'
    assert.throws(() => decodeNpy(bytes, "x.npy"), /dtype <i8 is not supported/);
    assert.throws(() => encodeNpy([1, 2, 3], [2, 2]), /does not hold 3 values/);
  });
});
