/**
 * Elementary functions built only from IEEE-754 double operations that every JavaScript engine
 * must round correctly (+ − × ÷ and Math.sqrt; ECMA-262 leaves Math.log/sin/cos/exp
 * "implementation-approximated"). The same input therefore gives the same bits in Node, in any
 * browser and on any CPU; the random normals of `Rng` are built on these so that a seeded run in
 * the page reproduces the CLI bit for bit. Accuracy is within a few ulp of the true value.
 */

/** ln 2 split so that e·LN2_HI is exact for |e| < 2^11 (Cody–Waite). */
const LN2_HI = 0.6931471803691238; // 0x3fe62e42fee00000
const LN2_LO = 1.9082149292705877e-10;

/** 1/(2k+1) for the atanh series, k = 0..13; divisions are correctly rounded, so these are portable. */
const ATANH_C = Array.from({ length: 14 }, (_, k) => 1 / (2 * k + 1));

/** Bits of a double: the typed-array views share one 8-byte buffer (its byte order detected once). */
const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
const HI = (() => {
  F64[0] = 1; // 0x3ff00000_00000000: the high word is the one that is not zero
  return U32[1] === 0x3ff00000 ? 1 : 0;
})();
/** Result slots of splitExponent (module scratch; callers read them at once). */
let splitM = 0,
  splitE = 0;

/**
 * Scale a positive finite x into [√½, √2) by an exact power of two: x = m·2^e (unique m and e), left in
 * splitM and splitE. Normal doubles: e from the exponent field, m = x·2^-e (exact), one halving;
 * subnormals are first scaled by 2^64 (exact).
 */
function splitExponent(x: number): void {
  let bias = 0;
  if (x < 2 ** -1022) {
    x *= 2 ** 64;
    bias = -64;
  }
  F64[0] = x;
  let e = ((U32[HI]! >>> 20) & 0x7ff) - 1023;
  U32[HI] = (U32[HI]! & 0x800fffff) | 0x3ff00000; // same mantissa, exponent 0: m in [1, 2)
  let m = F64[0]!;
  if (m >= Math.SQRT2) {
    m /= 2;
    e += 1;
  }
  splitM = m;
  splitE = e + bias;
}

/**
 * Natural logarithm of a positive finite double (x = m·2^e, ln m = 2·atanh((m−1)/(m+1)) by its
 * odd series, |s| ≤ 0.172 so 14 terms reach double precision). Throws on x ≤ 0, NaN or ∞.
 */
export function logExact(x: number): number {
  if (!(x > 0) || x === Infinity) throw new Error(`logExact: argument must be a positive finite number, got ${x}`);
  splitExponent(x);
  const m = splitM,
    e = splitE;
  const f = m - 1; // exact (Sterbenz: m in [0.707, 1.414])
  const s = f / (m + 1);
  const s2 = s * s;
  let p = ATANH_C[13]!;
  for (let k = 12; k >= 1; k--) p = p * s2 + ATANH_C[k]!;
  // ln(1+f) = 2s + s·R with R = 2(s²/3 + s⁴/5 + …), rearranged as f − hf + s(hf + R) for accuracy.
  const hf = 0.5 * f * f;
  const r = s2 * p * 2; // 2(s²/3 + s⁴/5 + …)
  const lnm = f - (hf - s * (hf + r));
  return e * LN2_HI + (lnm + e * LN2_LO);
}

/** 1/(2k+1)! and 1/(2k)! for the sine and cosine series, built by correctly rounded divisions. */
const SIN_C: number[] = [];
const COS_C: number[] = [];
{
  let fs = 1,
    fc = 1;
  for (let k = 0; k < 12; k++) {
    SIN_C.push(fs);
    COS_C.push(fc);
    fs = fs / ((2 * k + 2) * (2 * k + 3));
    fc = fc / ((2 * k + 1) * (2 * k + 2));
  }
}
/** 2π split in two doubles, so θ = v·2π keeps ~2^-100 relative accuracy in the product's sum. */
const TWO_PI_HI = 6.283185307179586;
const TWO_PI_LO = 2.4492935982947064e-16;

/**
 * sin(2πu) and cos(2πu) for a turn count u (any finite double), written to out[0] and out[1]. The
 * quarter-turn is removed exactly (k = round(4u), v = u − k/4 is exact by Sterbenz for |u| ≥ 1/8,
 * |v| ≤ 1/8), then the small angle θ = 2πv (|θ| ≤ π/4) goes through the Taylor series of sin and cos
 * (terms to θ^23; truncation < 1e-22) and the quadrant is a sign/swap.
 */
export function sinCosTurnsInto(u: number, out: Float64Array): void {
  if (!Number.isFinite(u)) throw new Error(`sinCosTurns: argument must be finite, got ${u}`);
  const w = u - Math.floor(u); // u mod 1 (exact for u in [0, 1) and for u ≥ 1)
  const k = Math.round(4 * w); // 0..4
  const v = w - k / 4;
  const t = v * TWO_PI_HI + v * TWO_PI_LO;
  const t2 = t * t;
  let ps = SIN_C[11]!,
    pc = COS_C[11]!;
  for (let j = 10; j >= 0; j--) {
    ps = ps * -t2 + SIN_C[j]!;
    pc = pc * -t2 + COS_C[j]!;
  }
  const s = t * ps;
  switch (k & 3) {
    case 0:
      out[0] = s;
      out[1] = pc;
      break;
    case 1:
      out[0] = pc;
      out[1] = -s;
      break;
    case 2:
      out[0] = -s;
      out[1] = -pc;
      break;
    default:
      out[0] = -pc;
      out[1] = s;
  }
}

/** [sin(2πu), cos(2πu)] (see sinCosTurnsInto). */
export function sinCosTurns(u: number): [number, number] {
  const out = new Float64Array(2);
  sinCosTurnsInto(u, out);
  return [out[0]!, out[1]!];
}

/**
 * The doubles the functions above compute with, for the WebAssembly twin of the random normals
 * (src/rng-wasm.ts), which must use the very same constants to give the same bits.
 */
export const EXACT_MATH_CONSTANTS = {
  atanh: ATANH_C,
  sin: SIN_C,
  cos: COS_C,
  ln2Hi: LN2_HI,
  ln2Lo: LN2_LO,
  twoPiHi: TWO_PI_HI,
  twoPiLo: TWO_PI_LO,
} as const;
