/**
 * Seeded counter-based random numbers: Philox4x32-10 (Salmon et al. 2011, "Parallel random
 * numbers: as easy as 1, 2, 3"). Pure 32-bit integer arithmetic, so the same seed gives the same
 * numbers in Node, in a browser and on every platform. Every stochastic function in scoregen takes
 * an `Rng` explicitly; `fork(k)` derives an independent stream (a different key) without
 * consuming numbers from the parent.
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const TWO_POW_32 = 4294967296;

/** High and low 32 bits of the 64-bit product of two unsigned 32-bit integers. */
function mulhilo(a: number, b: number): [number, number] {
  const lo = Math.imul(a, b) >>> 0;
  const aH = a >>> 16,
    aL = a & 0xffff,
    bH = b >>> 16,
    bL = b & 0xffff;
  const mid1 = aH * bL,
    mid2 = aL * bH;
  const carry = (((aL * bL) >>> 16) + (mid1 & 0xffff) + (mid2 & 0xffff)) >>> 16;
  const hi = (aH * bH + (mid1 >>> 16) + (mid2 >>> 16) + carry) >>> 0;
  return [hi, lo];
}

/** One Philox4x32-10 block: four 32-bit outputs for a 128-bit counter and 64-bit key. */
export function philox4x32(ctr: readonly number[], key: readonly number[]): Uint32Array {
  let c0 = ctr[0]! >>> 0,
    c1 = ctr[1]! >>> 0,
    c2 = ctr[2]! >>> 0,
    c3 = ctr[3]! >>> 0;
  let k0 = key[0]! >>> 0,
    k1 = key[1]! >>> 0;
  for (let r = 0; r < 10; r++) {
    const [hi0, lo0] = mulhilo(M0, c0);
    const [hi1, lo1] = mulhilo(M1, c2);
    const n0 = (hi1 ^ c1 ^ k0) >>> 0;
    const n2 = (hi0 ^ c3 ^ k1) >>> 0;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  return Uint32Array.of(c0, c1, c2, c3);
}

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
      this.buf = philox4x32([c % TWO_POW_32, Math.floor(c / TWO_POW_32), 0, 0], this.key);
      this.pos = 0;
    }
    return this.buf[this.pos++]!;
  }

  /** Uniform in the open interval (0, 1) with 53 bits of resolution. */
  uniform(): number {
    const hi = this.nextU32() >>> 5,
      lo = this.nextU32() >>> 6; // 27 + 26 bits
    return (hi * 67108864 + lo + 0.5) / 9007199254740992;
  }

  /** Standard normal by the Box–Muller transform (pairs are used in order). */
  normal(): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return z;
    }
    const u1 = this.uniform(),
      u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spareNormal = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** Integer uniform in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Fill (or allocate) an array with standard normals. */
  normals(n: number, out: Float64Array | Float32Array = new Float64Array(n)): typeof out {
    for (let i = 0; i < n; i++) out[i] = this.normal();
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
