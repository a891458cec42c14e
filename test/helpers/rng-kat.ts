/**
 * Known-answer vector for `Rng.normal`: the first eight standard normals of `new Rng(2024)` as
 * IEEE-754 float64 bit patterns (hex, big-endian). Every JavaScript engine must reproduce these
 * bits exactly (test/rng.test.ts in Node, test/web.test.ts in Chromium).
 */
export const NORMAL_KAT_SEED = 2024;
export const NORMAL_KAT = [
  "3fe5fe3425f39a14",
  "3fc82d95d490d2c0",
  "bfe26c09699503c9",
  "3fe4dccd1bdfaef2",
  "3fdc5199a741948d",
  "3fa14499e35b7b9b",
  "bff33b3827768a5c",
  "bfe095b518e7f35d",
] as const;

/** Bit patterns (hex) of a float64 array, for exact comparisons across engines. */
export function float64Hex(a: Float64Array): string[] {
  const v = new DataView(a.buffer, a.byteOffset, a.byteLength);
  return Array.from({ length: a.length }, (_, i) =>
    v
      .getBigUint64(8 * i, true)
      .toString(16)
      .padStart(16, "0"),
  );
}
