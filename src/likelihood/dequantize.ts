/** Uniform dequantization lives with the data (src/data/dequantize.ts); bits/dim conversion here. */
export { bpdOffset, uniformDequantize } from "../data/dequantize.ts";

/** Bits per dimension from nats: bpd = −logp/(dim·ln 2) + offset. logp [n] → [n]. */
export function bitsPerDim(logp: Float64Array, dim: number, offset = 0): Float64Array {
  return logp.map((l) => -l / (dim * Math.LN2) + offset);
}
