/**
 * The bulk of Rng.normals in WebAssembly (rng-kernels.wat): Philox blocks with exact 64-bit integer
 * products and the Box–Muller pair from the same IEEE double operations and constants as
 * exact-math.ts, so the values have the same bits as the JavaScript path (~6× faster here).
 * Platform-neutral: WebAssembly is a JavaScript global; where it is missing or fails to
 * instantiate, `normalPairs` returns false and the caller computes in JavaScript.
 */
import { EXACT_MATH_CONSTANTS as K } from "./exact-math.ts";
import { RNG_KERNELS_WASM } from "./rng-kernels.wasm.ts";
import { compileEmbeddedWasm } from "./wasm-module.ts";

interface Kernel {
  /** Output pairs (float64) at byte 512 of `values`' buffer. */
  values: Float64Array;
  pairsPerCall: number;
  normals(k0: number, k1: number, counter: bigint, pairs: number): void;
}

const PAGES = 4;
const OUT_AT = 512;
let kernel: Kernel | null | undefined;
let enabled = true;

/** Use the WebAssembly kernel (true, the default) or only the JavaScript path (tests compare them). */
export function setRngWasm(on = true): void {
  enabled = on;
}

function load(): Kernel | null {
  const mod = compileEmbeddedWasm(RNG_KERNELS_WASM);
  if (!mod) return null;
  try {
    const memory = new WebAssembly.Memory({ initial: PAGES, maximum: PAGES });
    const inst = new WebAssembly.Instance(mod, { env: { memory } });
    const c = new Float64Array(memory.buffer, 0, OUT_AT / 8);
    c.set(K.atanh, 0);
    c.set(K.sin, 16);
    c.set(K.cos, 32);
    c.set([K.ln2Hi, K.ln2Lo, K.twoPiHi, K.twoPiLo, Math.SQRT2], 48);
    const values = new Float64Array(memory.buffer, OUT_AT);
    const exp = inst.exports as { normals: Kernel["normals"] };
    return { values, pairsPerCall: values.length >> 1, normals: exp.normals };
  } catch {
    return null;
  }
}

/**
 * Writes 2·pairs normals into out[at…] from the Philox blocks counter, counter + 1, … under key
 * (k0, k1), one Box–Muller pair per block (r·cos, then r·sin). Returns false, writing nothing, when
 * the WebAssembly kernel is unavailable.
 */
export function normalPairs(
  k0: number,
  k1: number,
  counter: number,
  pairs: number,
  out: Float64Array | Float32Array,
  at: number,
): boolean {
  if (!enabled) return false;
  kernel ??= load();
  if (!kernel) return false;
  for (let done = 0; done < pairs; ) {
    const m = Math.min(kernel.pairsPerCall, pairs - done);
    kernel.normals(k0, k1, BigInt(counter + done), m);
    out.set(kernel.values.subarray(0, 2 * m), at + 2 * done);
    done += m;
  }
  return true;
}
