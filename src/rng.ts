/**
 * Seeded counter-based random numbers: Philox4x32-10 (Salmon et al. 2011, "Parallel random
 * numbers: as easy as 1, 2, 3"). Pure 32-bit integer arithmetic, so the same seed gives the same
 * numbers in Node, in a browser and on every platform. Every stochastic function in scoregen takes
 * an `Rng` explicitly; `fork(k)` derives an independent stream (a different key) without
 * consuming numbers from the parent.
 */

import { logExact, sinCosTurnsInto } from "./exact-math.ts";
import { normalPairs } from "./rng-wasm.ts";

/** Scratch for sinCosTurnsInto: [sin, cos]. */
const SIN_COS = new Float64Array(2);

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const TWO_POW_32 = 4294967296;
/** 2^-16 and 2^-53: multiplying by an exact power of two rounds as dividing does. */
const TWO_POW_M16 = 1 / 65536,
  TWO_POW_M53 = 1 / 9007199254740992;

const M0_HI = M0 >>> 16,
  M0_LO = M0 & 0xffff,
  M1_HI = M1 >>> 16,
  M1_LO = M1 & 0xffff;

/**
 * High 32 bits of the 64-bit product of (aH·2^16 + aL) and an unsigned 32-bit b, in exact double
 * arithmetic: aL·b < 2^48 and aH·b + ⌊aL·b / 2^16⌋ < 2^49 are exact, and so are the floors.
 */
const mulHi = (aH: number, aL: number, b: number) =>
  Math.floor((aH * b + Math.floor(aL * b * TWO_POW_M16)) * TWO_POW_M16);

/** Philox4x32-10 of counter (c0, c1, c2, c3) and key (k0, k1), written to out[at..at+3]. */
function philoxInto(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array,
  at: number,
): void {
  for (let r = 0; r < 10; r++) {
    const hi0 = mulHi(M0_HI, M0_LO, c0),
      lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulHi(M1_HI, M1_LO, c2),
      lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  out[at] = c0;
  out[at + 1] = c1;
  out[at + 2] = c2;
  out[at + 3] = c3;
}

/** One Philox4x32-10 block: four 32-bit outputs for a 128-bit counter and 64-bit key. */
export function philox4x32(ctr: readonly number[], key: readonly number[]): Uint32Array {
  const out = new Uint32Array(4);
  philoxInto(ctr[0]! >>> 0, ctr[1]! >>> 0, ctr[2]! >>> 0, ctr[3]! >>> 0, key[0]! >>> 0, key[1]! >>> 0, out, 0);
  return out;
}

/** 53-bit uniform in (0, 1) from two 32-bit words (27 high bits of the first, 26 of the second). */
const uniformOf = (a: number, b: number) => ((a >>> 5) * 67108864 + (b >>> 6) + 0.5) * TWO_POW_M53;

/** A stream of random numbers; the state is (key, counter), so copies are cheap and exact. */
export class Rng {
  private readonly key: [number, number];
  private counter = 0; // blocks consumed; 2^53 blocks is far beyond any run
  private buf: Uint32Array = new Uint32Array(4);
  private pos = 4;
  private spareNormal: number | null = null;

  /** `seed` is any integer in [0, 2^53); `stream` picks an independent sub-stream. */
  constructor(seed: number, stream = 0) {
    if (!Number.isSafeInteger(seed) || seed < 0)
      throw new Error(`Rng: seed must be a non-negative integer, got ${seed}`);
    this.key = [(seed % TWO_POW_32) >>> 0, (Math.floor(seed / TWO_POW_32) ^ Math.imul(stream + 1, 0x85ebca6b)) >>> 0];
    if (stream !== 0) this.key[0] = (this.key[0] ^ Math.imul(stream, 0xc2b2ae35)) >>> 0;
  }

  /** An independent generator derived from this one's key and `k` (does not advance this one). */
  fork(k: number): Rng {
    const [a, b, c, d] = philox4x32([k >>> 0, 0x5eed, 0, 0], this.key);
    const child = new Rng(0);
    (child as unknown as { key: number[] }).key = [(a! ^ c!) >>> 0, (b! ^ d!) >>> 0];
    return child;
  }

  /** Next uniformly distributed unsigned 32-bit integer. */
  nextU32(): number {
    if (this.pos === 4) {
      const c = this.counter++;
      philoxInto(c % TWO_POW_32, Math.floor(c / TWO_POW_32), 0, 0, this.key[0], this.key[1], this.buf, 0);
      this.pos = 0;
    }
    return this.buf[this.pos++]!;
  }

  /** Uniform in the open interval (0, 1) with 53 bits of resolution. */
  uniform(): number {
    const a = this.nextU32();
    return uniformOf(a, this.nextU32());
  }

  /**
   * Standard normal by the Box–Muller transform (pairs are used in order: r·cos 2πu₂, then
   * r·sin 2πu₂). The logarithm and sine/cosine are computed from correctly rounded IEEE
   * operations only (src/exact-math.ts), so every JavaScript engine returns the same bits.
   */
  normal(): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return z;
    }
    const u1 = this.uniform(),
      u2 = this.uniform();
    const r = Math.sqrt(-2 * logExact(u1));
    sinCosTurnsInto(u2, SIN_COS);
    this.spareNormal = r * SIN_COS[0]!;
    return r * SIN_COS[1]!;
  }

  /** Integer uniform in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /**
   * Fill (or allocate) an array with standard normals: the same numbers as n calls of normal(). Once the
   * stream sits at a block boundary with no spare normal, each Philox block (four words, two
   * uniforms) gives one Box–Muller pair directly, in WebAssembly where available (rng-wasm.ts; the
   * same bits).
   */
  normals(n: number, out: Float64Array | Float32Array = new Float64Array(n)): typeof out {
    let i = 0;
    while (i < n && (this.pos !== 4 || this.spareNormal !== null)) out[i++] = this.normal();
    const blk = this.buf,
      [k0, k1] = this.key;
    const pairs = (n - i) >> 1;
    if (pairs > 0 && normalPairs(k0, k1, this.counter, pairs, out, i)) {
      this.counter += pairs;
      i += 2 * pairs;
    }
    for (; i + 1 < n; i += 2) {
      const c = this.counter++;
      philoxInto(c % TWO_POW_32, Math.floor(c / TWO_POW_32), 0, 0, k0, k1, blk, 0);
      const r = Math.sqrt(-2 * logExact(uniformOf(blk[0]!, blk[1]!)));
      sinCosTurnsInto(uniformOf(blk[2]!, blk[3]!), SIN_COS);
      out[i] = r * SIN_COS[1]!;
      out[i + 1] = r * SIN_COS[0]!;
    }
    if (i < n) out[i] = this.normal();
    return out;
  }

  /** Fill (or allocate) an array with uniforms in (0, 1). */
  uniforms(n: number, out: Float64Array | Float32Array = new Float64Array(n)): typeof out {
    for (let i = 0; i < n; i++) out[i] = this.uniform();
    return out;
  }

  /** Fill (or allocate) an array with Rademacher ±1 values. */
  rademachers(n: number, out: Float64Array | Float32Array = new Float64Array(n)): typeof out {
    for (let i = 0; i < n; i++) out[i] = (this.nextU32() & 1) === 1 ? 1 : -1;
    return out;
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }
}
