/**
 * Geometry of an arrow from (x0, y0) to the tip (x1, y1), shared by the raster and SVG canvases:
 * shaft end (the head's base nudged half a pixel forward) and the head triangle, whose length is
 * `head` (default 4·width + 3, at most 45 % of the arrow) and half-width head·0.65/2 + width/4.
 * Returns null for a zero-length arrow.
 */
export function arrowShape(
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  width: number,
  head?: number,
): { shaftEnd: [number, number]; triangle: [number, number, number, number, number, number] } | null {
  const len = Math.hypot(x1 - x0, y1 - y0);
  if (!(len > 0)) return null;
  const h = Math.min(head ?? 4 * width + 3, 0.45 * len);
  const ux = (x1 - x0) / len,
    uy = (y1 - y0) / len;
  const bx = x1 - ux * h,
    by = y1 - uy * h;
  const hw = h * 0.65 * 0.5 + width * 0.25;
  return {
    shaftEnd: [bx + ux * 0.5, by + uy * 0.5],
    triangle: [x1, y1, bx - uy * hw, by + ux * hw, bx + uy * hw, by - ux * hw],
  };
}
