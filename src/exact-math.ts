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
const SQRT_HALF = Math.sqrt(0.5); // sqrt is correctly rounded

/** 1/(2k+1) for the atanh series, k = 0..13; divisions are correctly rounded, so these are portable. */
const ATANH_C = Array.from({ length: 14 }, (_, k) => 1 / (2 * k + 1));

/** Scale a positive finite x into [√½, √2) by exact powers of two: x = m·2^e. */
function splitExponent(x: number): [number, number] {
  let e = 0;
  for (let k = 512; k >= 1; k >>= 1) {
    const p = 2 ** k;
    if (x < 1 / p) {
      x *= p;
      e -= k;
    } else if (x >= p) {
      x /= p;
      e += k;
    }
  }
  while (x < SQRT_HALF) {
    x *= 2;
    e -= 1;
  }
  while (x >= Math.SQRT2) {
    x /= 2;
    e += 1;
  }
  return [x, e];
}

/**
 * Natural logarithm of a positive finite double (x = m·2^e, ln m = 2·atanh((m−1)/(m+1)) by its
 * odd series, |s| ≤ 0.172 so 14 terms reach double precision). Throws on x ≤ 0, NaN or ∞.
 */
export function logExact(x: number): number {
  if (!(x > 0) || x === Infinity) throw new Error(`logExact: argument must be a positive finite number, got ${x}`);
  const [m, e] = splitExponent(x);
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

/** Taylor series of sin θ and cos θ for |θ| ≤ π/4 (terms to θ^23; truncation < 1e-22). */
function sinCosSmall(t: number): [number, number] {
  const t2 = t * t;
  let ps = SIN_C[11]!,
    pc = COS_C[11]!;
  for (let k = 10; k >= 0; k--) {
    ps = ps * -t2 + SIN_C[k]!;
    pc = pc * -t2 + COS_C[k]!;
  }
  return [t * ps, pc];
}

/**
 * sin(2πu) and cos(2πu) for a turn count u (any finite double). The quarter-turn
 * is removed exactly (k = round(4u), v = u − k/4 is exact by Sterbenz for |u| ≥ 1/8, |v| ≤ 1/8),
 * then the small angle goes through the series and the quadrant is a sign/swap.
 */
export function sinCosTurns(u: number): [number, number] {
  if (!Number.isFinite(u)) throw new Error(`sinCosTurns: argument must be finite, got ${u}`);
  const w = u - Math.floor(u); // u mod 1 (exact for u in [0, 1) and for u ≥ 1)
  const k = Math.round(4 * w); // 0..4
  const v = w - k / 4;
  const t = v * TWO_PI_HI + v * TWO_PI_LO;
  const [s, c] = sinCosSmall(t);
  switch (k & 3) {
    case 0:
      return [s, c];
    case 1:
      return [c, -s];
    case 2:
      return [-s, -c];
    default:
      return [-c, s];
  }
}
