/**
 * A vector drawing surface that records SVG (platform-neutral): the 2-D plots draw onto it with the
 * same primitives the raster {@link Canvas} offers (lines, discs, rings, arrows, polylines,
 * rectangles) plus real text (Unicode: σ, ∇, ε, subscripts) and embedded raster images (density
 * heat maps, image grids). The page inserts the SVG string directly; the CLI rasterizes it with
 * resvg and the bundled DejaVu Sans (./svg-png.ts).
 *
 * Coordinates are pixels, x to the right and y down, as on the raster canvas.
 */
import { encode as encodePngBytes } from "fast-png";
import { arrowShape } from "./arrow.ts";
import type { PixelRect, Raster } from "./canvas.ts";
import { type Color, type ColorLike, type Colormap, WHITE, toColor } from "./color.ts";
import { base64 } from "./html.ts";

/** XML-escape text content and attribute values. */
export const xmlEscape = (s: string): string =>
  s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

/** Round to 0.01 px for compact coordinates. */
const r2 = (v: number): number => Math.round(v * 100) / 100;

const rgb = (c: Color): string => `rgb(${Math.round(c[0])},${Math.round(c[1])},${Math.round(c[2])})`;

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

/** Font family of every plot: DejaVu Sans is bundled for the CLI; browsers fall back to their sans-serif. */
export const PLOT_FONT_FAMILY = "DejaVu Sans, Verdana, Arial, sans-serif";

/** DejaVu Sans cap height and mean advance of digits/lowercase, in em (for placing and measuring text). */
const CAP_EM = 0.73;
const ADVANCE_EM = 0.62;

/** Approximate width in pixels of `str` at font `size` (DejaVu Sans; for layout of boxes only). */
export function estimateTextWidth(str: string, size: number): number {
  return [...str].length * ADVANCE_EM * size;
}

export interface SvgTextOptions {
  /** Font size in pixels (default 11). */
  size?: number;
  /** Horizontal anchor of x (default "left"). */
  align?: "left" | "center" | "right";
  /** Vertical anchor of y: top of the capitals, their middle, or the baseline (default "top"). */
  baseline?: "top" | "middle" | "bottom";
  /** Rotate 90° counter-clockwise (reads bottom to top; for y-axis labels). */
  vertical?: boolean;
  bold?: boolean;
  alpha?: number;
}

export interface SvgStrokeOptions {
  /** Line width in pixels (default 1). */
  width?: number;
  /** Opacity in [0, 1] (default 1). */
  alpha?: number;
}

/** PNG data URI of an RGBA raster (fast-png; works in Node and browsers). */
export function rasterDataUri(r: Raster): string {
  const data = new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength);
  return `data:image/png;base64,${base64(encodePngBytes({ width: r.width, height: r.height, data, channels: 4, depth: 8 }))}`;
}

export class SvgCanvas {
  readonly width: number;
  readonly height: number;
  private readonly parts: string[] = [];
  private readonly defs: string[] = [];
  private readonly prefix: string;
  private ids = 0;
  private clipRect: PixelRect;
  private groupOpen = false;

  /** A width × height picture on an opaque `background` (default white); `idPrefix` keeps ids unique in a page. */
  constructor(width: number, height: number, background: ColorLike = WHITE, idPrefix = "sg") {
    if (!(width > 0 && height > 0 && Number.isFinite(width) && Number.isFinite(height)))
      throw new Error(`SvgCanvas: size ${width}×${height} is invalid; width and height must be positive`);
    this.width = width;
    this.height = height;
    this.prefix = idPrefix;
    this.clipRect = { x0: 0, y0: 0, x1: width, y1: height };
    this.parts.push(`<rect width="${width}" height="${height}" fill="${rgb(toColor(background))}"/>`);
  }

  private id(kind: string): string {
    return `${this.prefix}-${kind}${this.ids++}`;
  }

  /** The current clip rectangle. */
  get clip(): PixelRect {
    return { ...this.clipRect };
  }

  /** Restricts what follows to a rectangle; no argument (or the whole picture) resets. */
  setClip(rect?: PixelRect): void {
    if (this.groupOpen) this.parts.push("</g>");
    this.groupOpen = false;
    this.clipRect = rect ? { ...rect } : { x0: 0, y0: 0, x1: this.width, y1: this.height };
    if (!rect || (rect.x0 <= 0 && rect.y0 <= 0 && rect.x1 >= this.width && rect.y1 >= this.height)) return;
    const id = this.id("clip");
    this.defs.push(
      `<clipPath id="${id}"><rect x="${r2(rect.x0)}" y="${r2(rect.y0)}" width="${r2(rect.x1 - rect.x0)}" height="${r2(rect.y1 - rect.y0)}"/></clipPath>`,
    );
    this.parts.push(`<g clip-path="url(#${id})">`);
    this.groupOpen = true;
  }

  /** Adds raw SVG markup (already escaped) at the current position. */
  raw(markup: string): void {
    this.parts.push(markup);
  }

  /** Filled rectangle [x, x+w) × [y, y+h). */
  fillRect(x: number, y: number, w: number, h: number, color: ColorLike, alpha = 1): void {
    const a = clamp01(alpha);
    this.parts.push(
      `<rect x="${r2(x)}" y="${r2(y)}" width="${r2(w)}" height="${r2(h)}" fill="${rgb(toColor(color))}"${a < 1 ? ` fill-opacity="${r2(a)}"` : ""}/>`,
    );
  }

  /** Filled disc of radius r centered at (cx, cy). */
  disc(cx: number, cy: number, r: number, color: ColorLike, alpha = 1): void {
    if (!(Number.isFinite(cx) && Number.isFinite(cy) && r > 0)) return;
    const a = clamp01(alpha);
    this.parts.push(
      `<circle cx="${r2(cx)}" cy="${r2(cy)}" r="${r2(r)}" fill="${rgb(toColor(color))}"${a < 1 ? ` fill-opacity="${r2(a)}"` : ""}/>`,
    );
  }

  /** Circle outline of radius r. */
  ring(cx: number, cy: number, r: number, color: ColorLike, opts: SvgStrokeOptions = {}): void {
    if (!(Number.isFinite(cx) && Number.isFinite(cy) && r > 0)) return;
    const a = clamp01(opts.alpha ?? 1);
    this.parts.push(
      `<circle cx="${r2(cx)}" cy="${r2(cy)}" r="${r2(r)}" fill="none" stroke="${rgb(toColor(color))}" stroke-width="${r2(opts.width ?? 1)}"${a < 1 ? ` stroke-opacity="${r2(a)}"` : ""}/>`,
    );
  }

  /**
   * Many discs of one color and radius: `xy` holds pixel coordinates [x0, y0, x1, y1, …]. Each disc
   * is blended on its own (overlapping translucent points darken, as in a scatter plot).
   */
  discs(xy: ArrayLike<number>, r: number, color: ColorLike, alpha = 1): void {
    const out: string[] = [`<g fill="${rgb(toColor(color))}" fill-opacity="${r2(clamp01(alpha))}">`];
    for (let i = 0; i + 1 < xy.length; i += 2) {
      const x = xy[i]!,
        y = xy[i + 1]!;
      if (Number.isFinite(x) && Number.isFinite(y)) out.push(`<circle cx="${r2(x)}" cy="${r2(y)}" r="${r2(r)}"/>`);
    }
    out.push("</g>");
    this.parts.push(out.join(""));
  }

  /** Line segment with round caps. */
  line(x0: number, y0: number, x1: number, y1: number, color: ColorLike, opts: SvgStrokeOptions = {}): void {
    if (![x0, y0, x1, y1].every(Number.isFinite)) return;
    const a = clamp01(opts.alpha ?? 1);
    this.parts.push(
      `<line x1="${r2(x0)}" y1="${r2(y0)}" x2="${r2(x1)}" y2="${r2(y1)}" stroke="${rgb(toColor(color))}" stroke-width="${r2(opts.width ?? 1)}"${a < 1 ? ` stroke-opacity="${r2(a)}"` : ""}/>`,
    );
  }

  /**
   * Polyline through pixel points [x0, y0, x1, y1, …]; non-finite points break the line. A
   * colormap colors segment k with colors(k / (segments−1)). Translucent lines are drawn opaque
   * inside a group with the opacity, so joints do not come out darker.
   */
  polyline(xy: ArrayLike<number>, color: ColorLike | ((t: number) => Color), opts: SvgStrokeOptions = {}): void {
    const a = clamp01(opts.alpha ?? 1);
    const w = r2(opts.width ?? 1);
    const m = Math.floor(xy.length / 2);
    const ok = (k: number) => Number.isFinite(xy[2 * k]!) && Number.isFinite(xy[2 * k + 1]!);
    const out: string[] = [
      `<g fill="none" stroke-width="${w}" stroke-linecap="round" stroke-linejoin="round"${a < 1 ? ` opacity="${r2(a)}"` : ""}>`,
    ];
    if (typeof color === "function") {
      for (let k = 0; k + 1 < m; k++) {
        if (!ok(k) || !ok(k + 1)) continue;
        out.push(
          `<line x1="${r2(xy[2 * k]!)}" y1="${r2(xy[2 * k + 1]!)}" x2="${r2(xy[2 * k + 2]!)}" y2="${r2(xy[2 * k + 3]!)}" stroke="${rgb(color(m > 2 ? k / (m - 2) : 0))}"/>`,
        );
      }
    } else {
      const stroke = rgb(toColor(color));
      let run: string[] = [];
      const flush = () => {
        if (run.length > 1) out.push(`<polyline points="${run.join(" ")}" stroke="${stroke}"/>`);
        run = [];
      };
      for (let k = 0; k < m; k++) {
        if (ok(k)) run.push(`${r2(xy[2 * k]!)},${r2(xy[2 * k + 1]!)}`);
        else flush();
      }
      flush();
    }
    out.push("</g>");
    this.parts.push(out.join(""));
  }

  /**
   * Arrow from (x0, y0) to the tip (x1, y1): a shaft of `width` and a filled triangular head of
   * length `head` (default 4·width + 3, at most 45 % of the arrow).
   */
  arrow(
    x0: number,
    y0: number,
    x1: number,
    y1: number,
    color: ColorLike,
    opts: SvgStrokeOptions & { head?: number } = {},
  ): void {
    const w = opts.width ?? 1;
    const shape = arrowShape(x0, y0, x1, y1, w, opts.head);
    if (!shape) return;
    const [ex, ey] = shape.shaftEnd,
      t = shape.triangle.map(r2);
    const c = rgb(toColor(color));
    const a = clamp01(opts.alpha ?? 1);
    this.parts.push(
      `<g${a < 1 ? ` opacity="${r2(a)}"` : ""}><line x1="${r2(x0)}" y1="${r2(y0)}" x2="${r2(ex)}" y2="${r2(ey)}" stroke="${c}" stroke-width="${r2(w)}" stroke-linecap="round"/><polygon points="${t[0]},${t[1]} ${t[2]},${t[3]} ${t[4]},${t[5]}" fill="${c}"/></g>`,
    );
  }

  /** A vertical color ramp in [x, x+w) × [y, y+h): colormap(1) at the top, colormap(0) at the bottom. */
  colorRamp(x: number, y: number, w: number, h: number, cmap: Colormap, stops = 33): void {
    const id = this.id("ramp");
    const s: string[] = [];
    for (let k = 0; k < stops; k++) {
      const f = k / (stops - 1);
      s.push(`<stop offset="${r2(f)}" stop-color="${rgb(cmap(1 - f))}"/>`);
    }
    this.defs.push(`<linearGradient id="${id}" x1="0" y1="0" x2="0" y2="1">${s.join("")}</linearGradient>`);
    this.parts.push(`<rect x="${r2(x)}" y="${r2(y)}" width="${r2(w)}" height="${r2(h)}" fill="url(#${id})"/>`);
  }

  /**
   * A raster drawn into [x, x+w) × [y, y+h) (PNG data URI). `pixelated`: nearest-neighbour
   * magnification (image grids); otherwise smooth (density maps).
   */
  image(src: Raster, x: number, y: number, w = src.width, h = src.height, pixelated = false): void {
    this.parts.push(
      `<image x="${r2(x)}" y="${r2(y)}" width="${r2(w)}" height="${r2(h)}" preserveAspectRatio="none"${pixelated ? ' image-rendering="optimizeSpeed" style="image-rendering:pixelated"' : ""} href="${rasterDataUri(src)}"/>`,
    );
  }

  /** Real text (any Unicode DejaVu Sans has) anchored at (x, y) per `align`/`baseline`. */
  text(str: string, x: number, y: number, color: ColorLike, opts: SvgTextOptions = {}): void {
    const size = opts.size ?? 11;
    const anchor = opts.align === "center" ? "middle" : opts.align === "right" ? "end" : "start";
    const drop = opts.baseline === "middle" ? (CAP_EM * size) / 2 : opts.baseline === "bottom" ? 0 : CAP_EM * size;
    const a = clamp01(opts.alpha ?? 1);
    const style = `font-size="${r2(size)}" fill="${rgb(toColor(color))}" text-anchor="${anchor}"${opts.bold ? ' font-weight="bold"' : ""}${a < 1 ? ` fill-opacity="${r2(a)}"` : ""}`;
    // vertical text reads upward: its "down" (toward the baseline) is +x on the page
    this.parts.push(
      opts.vertical
        ? `<text transform="translate(${r2(x + drop)} ${r2(y)}) rotate(-90)" ${style}>${xmlEscape(str)}</text>`
        : `<text x="${r2(x)}" y="${r2(y + drop)}" ${style}>${xmlEscape(str)}</text>`,
    );
  }

  /** The SVG document. */
  toString(): string {
    const body = this.groupOpen ? [...this.parts, "</g>"] : this.parts;
    return [
      `<svg xmlns="http://www.w3.org/2000/svg" width="${this.width}" height="${this.height}" viewBox="0 0 ${this.width} ${this.height}" font-family="${PLOT_FONT_FAMILY}">`,
      this.defs.length ? `<defs>${this.defs.join("")}</defs>` : "",
      ...body,
      "</svg>",
    ].join("");
  }
}
