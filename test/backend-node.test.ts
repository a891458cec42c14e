/** Thread settings of the onnxruntime-node backend: option > SCOREGEN_THREADS > available cores. */
import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { describe, it, test } from "node:test";
import "../src/node.ts";
import * as E from "../src/engine/index.ts";
import { nodeBackend, resolveThreads } from "../src/engine/backend-node.ts";

describe("onnxruntime-node thread count", () => {
  it("defaults to the available parallelism, then SCOREGEN_THREADS, then the API option", () => {
    assert.equal(resolveThreads(undefined, undefined, 16), 16);
    assert.equal(resolveThreads(undefined, "", 16), 16);
    assert.equal(resolveThreads(undefined, "3", 16), 3);
    assert.equal(resolveThreads(5, "3", 16), 5);
  });

  it("rejects a SCOREGEN_THREADS or option that is not a positive integer, naming the fix", () => {
    for (const bad of ["0", "-2", "1.5", "four", "2x"]) {
      assert.throws(
        () => resolveThreads(undefined, bad, 8),
        /^Error: SCOREGEN_THREADS=".*" is not a positive integer: set it to a thread count such as 4, or unset it to use all 8 available cores$/,
      );
    }
    assert.throws(() => resolveThreads(0, undefined, 8), /threads must be a positive integer, got 0/);
  });

  it("the backend's name records the resolved count", () => {
    const saved = process.env.SCOREGEN_THREADS;
    try {
      delete process.env.SCOREGEN_THREADS;
      assert.equal(nodeBackend().name, `ort-node/cpu/${availableParallelism()}`);
      assert.equal(nodeBackend({ threads: 3 }).name, "ort-node/cpu/3");
      process.env.SCOREGEN_THREADS = "nope";
      assert.throws(() => nodeBackend().name, /SCOREGEN_THREADS="nope"/);
    } finally {
      if (saved === undefined) delete process.env.SCOREGEN_THREADS;
      else process.env.SCOREGEN_THREADS = saved;
    }
  });
});

test("Program.run writes outputs named in `into` into those arrays (CPU provider) and refuses a wrong one", async () => {
  const x = E.input("x", [3, 4]);
  const p = await E.compile({ inputs: [x], outputs: { y: E.mul(x, 2), s: E.sum(x) } });
  const xv = Float32Array.from({ length: 12 }, (_, i) => i - 5);
  const fresh = await p.run({ x: xv });
  const into = new Float32Array(12).fill(Number.NaN);
  for (let k = 0; k < 2; k++) {
    const r = await p.run({ x: xv.map((v) => v + k) }, { y: into });
    assert.equal(r.y, into, "the result holds the caller's array");
    assert.deepEqual(
      [...into],
      [...(fresh.y as Float32Array)].map((v) => v + 2 * k),
    );
    assert.equal(Number((r.s as Float32Array)[0]), Number((fresh.s as Float32Array)[0]) + 12 * k);
  }
  await assert.rejects(
    p.run({ x: xv }, { y: new Float32Array(11) }),
    /output 'y' must be a float32 array of 12 values/,
  );
  await assert.rejects(p.run({ x: xv }, { y: new Float64Array(12) }), /output 'y' must be a float32 array/);
});
