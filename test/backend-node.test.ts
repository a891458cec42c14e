/** Thread settings of the onnxruntime-node backend: option > SCOREGEN_THREADS > available cores. */
import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { describe, it } from "node:test";
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
