/**
 * A small raster canvas (pixel content: density maps, image grids; text and vector plots are SVG,
 * see ./svg-canvas.ts): an RGBA byte buffer (row-major, 4 bytes per pixel, top row first) with
 * anti-aliased primitives and straight-alpha "source-over" blending. Pure TypeScript, so the
 * same drawing code runs in Node (encoded to PNG by ./png.ts) and in a browser (`data` can be
 * wrapped in an ImageData directly).
 *
 * Coordinates are in pixels, x to the right and y down; pixel (i, j) covers [i, i+1) × [j, j+1),
 * so its center is (i + 0.5, j + 0.5). A 1-pixel line through pixel centers is exactly one pixel
 * wide. Shapes are rasterized by coverage: coverage = clamp(halfWidth + 0.5 − distance, 0, 1),
 * distance measured from the pixel center to the shape. A multi-part shape (a polyline, an
 * arrow) is first accumulated into a coverage mask (max per pixel) and then blended once, so
 * translucent shapes have no darker joints.
 */
import { arrowShape } from "./arrow.ts";
import { type Color, type ColorLike, toColor, WHITE } from "./color.ts";

/** Anything with RGBA pixels: a Canvas, an ImageData, a decoded PNG. */
export interface Raster {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8ClampedArray | Uint8Array;
}

/** A pixel rectangle [x0, x1) × [y0, y1). */
export interface PixelRect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface StrokeOptions {
  /** Line width in pixels (default 1). */
  width?: number;
  /** Opacity in [0, 1] (default 1). */
  alpha?: number;
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

export class Canvas implements Raster {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8ClampedArray;
  /** Drawing is restricted to this rectangle (whole canvas by default). */
  clip: PixelRect;
  private mask: Float32Array | null = null;
  private maskColor: Uint32Array | null = null;
  private touched: number[] = [];

  /** A width × height canvas filled with `background` (default white, opaque). */
  constructor(width: number, height: number, background: ColorLike = WHITE) {
    if (
      !Number.isSafeInteger(width) ||
      !Number.isSafeInteger(height) ||
      width < 1 ||
      height < 1 ||
      width * height > 1 << 26
    ) {
      throw new Error(
        `Canvas: size ${width}×${height} is invalid; width and height must be positive integers (at most 64 Mpixel)`,
      );
    }
    this.width = width;
    this.height = height;
    this.data = new Uint8ClampedArray(width * height * 4);
    this.clip = { x0: 0, y0: 0, x1: width, y1: height };
    this.fill(background);
  }

  /** Restricts drawing to a rectangle (intersected with the canvas); no argument resets. */
  setClip(rect?: PixelRect): void {
    if (!rect) {
      this.clip = { x0: 0, y0: 0, x1: this.width, y1: this.height };
      return;
    }
    this.clip = {
      x0: Math.max(0, Math.floor(rect.x0)),
      y0: Math.max(0, Math.floor(rect.y0)),
      x1: Math.min(this.width, Math.ceil(rect.x1)),
      y1: Math.min(this.height, Math.ceil(rect.y1)),
    };
  }

  /** Fills the whole canvas (ignoring the clip) with an opaque color. */
  fill(color: ColorLike): void {
    const [r, g, b] = toColor(color);
    const d = this.data;
    for (let i = 0; i < d.length; i += 4) {
      d[i] = r;
      d[i + 1] = g;
      d[i + 2] = b;
      d[i + 3] = 255;
    }
  }

  /** RGBA of pixel (x, y) (integers), or undefined outside the canvas. */
  getPixel(x: number, y: number): [number, number, number, number] | undefined {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return undefined;
    const i = 4 * (y * this.width + x);
    const d = this.data;
    return [d[i]!, d[i + 1]!, d[i + 2]!, d[i + 3]!];
  }

  /** Overwrites pixel (x, y) (integers, clip applies) with an opaque color. */
  setPixel(x: number, y: number, color: Color): void {
    if (x < this.clip.x0 || y < this.clip.y0 || x >= this.clip.x1 || y >= this.clip.y1) return;
    const i = 4 * (y * this.width + x);
    this.data[i] = color[0];
    this.data[i + 1] = color[1];
    this.data[i + 2] = color[2];
    this.data[i + 3] = 255;
  }

  /** Blends `color` with opacity `alpha` over pixel (x, y) (integers; clip applies). */
  blend(x: number, y: number, color: Color, alpha: number): void {
    if (x < this.clip.x0 || y < this.clip.y0 || x >= this.clip.x1 || y >= this.clip.y1 || !(alpha > 0)) return;
    this.blendIndex(y * this.width + x, color[0], color[1], color[2], alpha > 1 ? 1 : alpha);
  }

  private blendIndex(p: number, r: number, g: number, b: number, a: number): void {
    const d = this.data,
      i = 4 * p;
    const da = d[i + 3]! / 255;
    if (da >= 1) {
      const k = 1 - a;
      d[i] = r * a + d[i]! * k + 0.5;
      d[i + 1] = g * a + d[i + 1]! * k + 0.5;
      d[i + 2] = b * a + d[i + 2]! * k + 0.5;
      return;
    }
    const oa = a + da * (1 - a);
    if (oa <= 0) return;
    const kd = (da * (1 - a)) / oa,
      ks = a / oa;
    d[i] = r * ks + d[i]! * kd + 0.5;
    d[i + 1] = g * ks + d[i + 1]! * kd + 0.5;
    d[i + 2] = b * ks + d[i + 2]! * kd + 0.5;
    d[i + 3] = oa * 255 + 0.5;
  }

  // --- coverage mask ---------------------------------------------------------------------------

  private cover(p: number, c: number, rgb: number): void {
    if (c <= 0) return;
    const m = this.mask!;
    const old = m[p]!;
    if (old === 0) this.touched.push(p);
    if (c > old) {
      m[p] = c > 1 ? 1 : c;
      this.maskColor![p] = rgb;
    }
  }

  private beginMask(): void {
    if (!this.mask) {
      this.mask = new Float32Array(this.width * this.height);
      this.maskColor = new Uint32Array(this.width * this.height);
    }
  }

  private flushMask(alpha: number): void {
    const m = this.mask!,
      mc = this.maskColor!;
    for (const p of this.touched) {
      const c = m[p]!;
      if (c > 0) {
        const rgb = mc[p]!;
        this.blendIndex(p, rgb >>> 16, (rgb >>> 8) & 255, rgb & 255, c * alpha);
      }
      m[p] = 0;
    }
    this.touched.length = 0;
  }

  private static pack(c: Color): number {
    const q = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
    return ((q(c[0]) << 16) | (q(c[1]) << 8) | q(c[2])) >>> 0;
  }

  private coverSegment(x0: number, y0: number, x1: number, y1: number, hw: number, rgb: number): void {
    const dx = x1 - x0,
      dy = y1 - y0;
    const len2 = dx * dx + dy * dy;
    if (!(Number.isFinite(x0) && Number.isFinite(y0) && Number.isFinite(x1) && Number.isFinite(y1))) return;
    const { x0: cx0, y0: cy0, x1: cx1, y1: cy1 } = this.clip;
    const reach = hw + 1;
    const dist = (px: number, py: number) => {
      let t = len2 > 0 ? ((px - x0) * dx + (py - y0) * dy) / len2 : 0;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const ex = px - (x0 + t * dx),
        ey = py - (y0 + t * dy);
      return Math.sqrt(ex * ex + ey * ey);
    };
    const W = this.width;
    if (Math.abs(dx) >= Math.abs(dy)) {
      const xa = Math.max(cx0, Math.floor(Math.min(x0, x1) - reach)),
        xb = Math.min(cx1 - 1, Math.ceil(Math.max(x0, x1) + reach));
      const slope = dx === 0 ? 0 : dy / dx;
      const span = len2 > 0 ? (reach * Math.sqrt(len2)) / Math.max(Math.abs(dx), 1e-12) + 1 : reach + 1;
      for (let px = xa; px <= xb; px++) {
        const yc = y0 + (px + 0.5 - x0) * slope;
        const ya = Math.max(cy0, Math.floor(yc - span)),
          yb = Math.min(cy1 - 1, Math.ceil(yc + span));
        for (let py = ya; py <= yb; py++) this.cover(py * W + px, hw + 0.5 - dist(px + 0.5, py + 0.5), rgb);
      }
    } else {
      const ya = Math.max(cy0, Math.floor(Math.min(y0, y1) - reach)),
        yb = Math.min(cy1 - 1, Math.ceil(Math.max(y0, y1) + reach));
      const slope = dx / dy;
      const span = (reach * Math.sqrt(len2)) / Math.abs(dy) + 1;
      for (let py = ya; py <= yb; py++) {
        const xc = x0 + (py + 0.5 - y0) * slope;
        const xa = Math.max(cx0, Math.floor(xc - span)),
          xb = Math.min(cx1 - 1, Math.ceil(xc + span));
        for (let px = xa; px <= xb; px++) this.cover(py * W + px, hw + 0.5 - dist(px + 0.5, py + 0.5), rgb);
      }
    }
  }

  private coverDisc(cx: number, cy: number, r: number, rgb: number, ringHalfWidth = -1): void {
    if (!(Number.isFinite(cx) && Number.isFinite(cy) && r > 0)) return;
    const { x0, y0, x1, y1 } = this.clip;
    const R = r + (ringHalfWidth > 0 ? ringHalfWidth : 0) + 1;
    const xa = Math.max(x0, Math.floor(cx - R)),
      xb = Math.min(x1 - 1, Math.ceil(cx + R));
    const ya = Math.max(y0, Math.floor(cy - R)),
      yb = Math.min(y1 - 1, Math.ceil(cy + R));
    // Small discs: scale coverage by area so a radius-0.5 dot is not drawn as a full pixel.
    const areaScale = r < 0.5 && ringHalfWidth < 0 ? Math.PI * r * r : 1;
    for (let py = ya; py <= yb; py++) {
      for (let px = xa; px <= xb; px++) {
        const ex = px + 0.5 - cx,
          ey = py + 0.5 - cy;
        const d = Math.sqrt(ex * ex + ey * ey);
        const c = ringHalfWidth > 0 ? ringHalfWidth + 0.5 - Math.abs(d - r) : r < 0.5 ? 0.5 + 0.5 - d : r + 0.5 - d;
        this.cover(py * this.width + px, clamp01(c) * areaScale, rgb);
      }
    }
  }

  private coverTriangle(ax: number, ay: number, bx: number, by: number, cx: number, cy: number, rgb: number): void {
    // Orient counter-clockwise in y-down pixel space so "outside" distances are positive.
    let area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
    if (area === 0 || !Number.isFinite(area)) return;
    if (area < 0) {
      [bx, by, cx, cy] = [cx, cy, bx, by];
      area = -area;
    }
    const edges: [number, number, number, number][] = [
      [ax, ay, bx, by],
      [bx, by, cx, cy],
      [cx, cy, ax, ay],
    ];
    const norms = edges.map(([x0, y0, x1, y1]) => {
      const ex = x1 - x0,
        ey = y1 - y0,
        l = Math.hypot(ex, ey);
      // outward normal of a ccw (in y-down) edge: (ey, -ex)/l points outside
      return [ey / l, -ex / l, x0, y0] as const;
    });
    const { x0, y0, x1, y1 } = this.clip;
    const xa = Math.max(x0, Math.floor(Math.min(ax, bx, cx) - 1)),
      xb = Math.min(x1 - 1, Math.ceil(Math.max(ax, bx, cx) + 1));
    const ya = Math.max(y0, Math.floor(Math.min(ay, by, cy) - 1)),
      yb = Math.min(y1 - 1, Math.ceil(Math.max(ay, by, cy) + 1));
    for (let py = ya; py <= yb; py++) {
      for (let px = xa; px <= xb; px++) {
        const qx = px + 0.5,
          qy = py + 0.5;
        let s = -Infinity;
        for (const [nx, ny, ox, oy] of norms) {
          const v = (qx - ox) * nx + (qy - oy) * ny;
          if (v > s) s = v;
        }
        this.cover(py * this.width + px, 0.5 - s, rgb);
      }
    }
  }

  // --- public primitives -----------------------------------------------------------------------

  /** Fills a pixel-aligned rectangle [x, x+w) × [y, y+h) (rounded to whole pixels). */
  fillRect(x: number, y: number, w: number, h: number, color: ColorLike, alpha = 1): void {
    const c = toColor(color);
    const xa = Math.max(this.clip.x0, Math.round(x)),
      xb = Math.min(this.clip.x1, Math.round(x + w));
    const ya = Math.max(this.clip.y0, Math.round(y)),
      yb = Math.min(this.clip.y1, Math.round(y + h));
    for (let py = ya; py < yb; py++)
      for (let px = xa; px < xb; px++) this.blendIndex(py * this.width + px, c[0], c[1], c[2], clamp01(alpha));
  }

  /** Anti-aliased filled disc of radius r pixels centered at (cx, cy). */
  disc(cx: number, cy: number, r: number, color: ColorLike, alpha = 1): void {
    this.beginMask();
    this.coverDisc(cx, cy, r, Canvas.pack(toColor(color)));
    this.flushMask(clamp01(alpha));
  }

  /** Anti-aliased circle outline of radius r with the given stroke width. */
  ring(cx: number, cy: number, r: number, color: ColorLike, opts: StrokeOptions = {}): void {
    this.beginMask();
    this.coverDisc(cx, cy, r, Canvas.pack(toColor(color)), (opts.width ?? 1) / 2);
    this.flushMask(clamp01(opts.alpha ?? 1));
  }

  /**
   * Many discs of one color and radius at once: `xy` holds pixel coordinates [x0, y0, x1, y1, …].
   * Each disc is blended separately (overlapping translucent points darken, as in a scatter plot).
   */
  discs(xy: ArrayLike<number>, r: number, color: ColorLike, alpha = 1): void {
    this.beginMask();
    const rgb = Canvas.pack(toColor(color));
    const a = clamp01(alpha);
    for (let i = 0; i + 1 < xy.length; i += 2) {
      this.coverDisc(xy[i]!, xy[i + 1]!, r, rgb);
      this.flushMask(a);
    }
  }

  /** Anti-aliased line segment with round caps. */
  line(x0: number, y0: number, x1: number, y1: number, color: ColorLike, opts: StrokeOptions = {}): void {
    this.beginMask();
    this.coverSegment(x0, y0, x1, y1, Math.max(0, (opts.width ?? 1) / 2), Canvas.pack(toColor(color)));
    this.flushMask(clamp01(opts.alpha ?? 1));
  }

  /**
   * Anti-aliased polyline through pixel points [x0, y0, x1, y1, …]; non-finite points break the
   * line. `colors`, when given, colors segment k (from point k to k+1) with colors(k / (segments−1)).
   */
  polyline(xy: ArrayLike<number>, color: ColorLike | ((t: number) => Color), opts: StrokeOptions = {}): void {
    this.beginMask();
    const hw = Math.max(0, (opts.width ?? 1) / 2);
    const m = Math.floor(xy.length / 2);
    const fixed = typeof color === "function" ? 0 : Canvas.pack(toColor(color));
    for (let k = 0; k + 1 < m; k++) {
      const rgb = typeof color === "function" ? Canvas.pack(color(m > 2 ? k / (m - 2) : 0)) : fixed;
      this.coverSegment(xy[2 * k]!, xy[2 * k + 1]!, xy[2 * k + 2]!, xy[2 * k + 3]!, hw, rgb);
    }
    this.flushMask(clamp01(opts.alpha ?? 1));
  }

  /** Anti-aliased filled triangle. */
  triangle(ax: number, ay: number, bx: number, by: number, cx: number, cy: number, color: ColorLike, alpha = 1): void {
    this.beginMask();
    this.coverTriangle(ax, ay, bx, by, cx, cy, Canvas.pack(toColor(color)));
    this.flushMask(clamp01(alpha));
  }

  /**
   * Arrow from (x0, y0) to the tip (x1, y1): a shaft of `width` and a filled triangular head of
   * length `head` (default 4·width + 3, at most 45 % of the arrow) and half-width head/2·1.3.
   */
  arrow(
    x0: number,
    y0: number,
    x1: number,
    y1: number,
    color: ColorLike,
    opts: StrokeOptions & { head?: number } = {},
  ): void {
    const w = opts.width ?? 1;
    const a = arrowShape(x0, y0, x1, y1, w, opts.head);
    if (!a) return;
    const rgb = Canvas.pack(toColor(color));
    this.beginMask();
    this.coverSegment(x0, y0, a.shaftEnd[0], a.shaftEnd[1], w / 2, rgb);
    this.coverTriangle(...a.triangle, rgb);
    this.flushMask(clamp01(opts.alpha ?? 1));
  }

  /** Copies a raster onto this canvas at (x, y), magnified by an integer `scale` (nearest). */
  blit(src: Raster, x: number, y: number, scale = 1): void {
    const s = Math.max(1, Math.round(scale));
    const sd = src.data;
    for (let j = 0; j < src.height * s; j++) {
      const py = y + j;
      if (py < this.clip.y0 || py >= this.clip.y1) continue;
      const srow = Math.floor(j / s) * src.width;
      for (let i = 0; i < src.width * s; i++) {
        const px = x + i;
        if (px < this.clip.x0 || px >= this.clip.x1) continue;
        const si = 4 * (srow + Math.floor(i / s));
        const a = sd[si + 3]! / 255;
        if (a > 0) this.blendIndex(py * this.width + px, sd[si]!, sd[si + 1]!, sd[si + 2]!, a);
      }
    }
  }
}
