/**
 * A grid of images (e.g. MNIST samples) in one picture. Images are float arrays in C×H×W layout
 * (channels first, row-major), C = 1 (grayscale) or 3 (RGB), values in [0, 1] or [-1, 1].
 */
import { Canvas } from "./canvas.ts";
import { type ColorLike, INK } from "./color.ts";
import { SvgCanvas } from "./svg-canvas.ts";

export interface ImageGridOptions {
  /** Channels per image: 1 or 3. */
  channels: 1 | 3;
  height: number;
  width: number;
  /** Images per row (default ⌈√n⌉). */
  cols?: number;
  /** Padding between and around images, in output pixels (default 2). */
  pad?: number;
  /** Integer magnification (default: smallest that makes each image ≥ 56 px, at most 8). */
  scale?: number;
  /**
   * Value range mapped to black…white: [lo, hi], or "auto" (default): [-1, 1] when any value is
   * below −0.01, else [0, 1]. Values outside are clamped; NaN shows as magenta.
   */
  range?: "auto" | [number, number];
  padColor?: ColorLike;
  /**
   * Title above the grid, drawn as text by {@link imageGridSvg} (and so by the PNG of `imageGrid`);
   * the raster of {@link renderImageGrid} is the grid alone.
   */
  title?: string;
}

/** Height in pixels of the title band above a titled image grid. */
export const GRID_TITLE_HEIGHT = 28;

/** Number of images in a flat array, or an error naming the expected size. */
function countImages(len: number, per: number): number {
  if (len % per !== 0 || len === 0) {
    throw new Error(
      `imageGrid: ${len} values is not a whole number of images of ${per} values (C·H·W); check channels/height/width`,
    );
  }
  return len / per;
}

/**
 * Renders images into one raster (pixels only, no title): `images` is one flat n·C·H·W array or a
 * list of C·H·W arrays.
 */
export function renderImageGrid(images: ArrayLike<number> | ArrayLike<number>[], opts: ImageGridOptions): Canvas {
  const { channels: C, height: H, width: W } = opts;
  if (C !== 1 && C !== 3) throw new Error(`imageGrid: channels must be 1 or 3, got ${String(C)}`);
  if (!Number.isSafeInteger(H) || !Number.isSafeInteger(W) || H < 1 || W < 1)
    throw new Error(`imageGrid: height and width must be positive integers, got ${H}×${W}`);
  const per = C * H * W;
  const list: ArrayLike<number>[] = Array.isArray(images) ? images : [];
  let n: number;
  let at: (k: number, idx: number) => number;
  if (Array.isArray(images)) {
    if (list.length === 0) throw new Error("imageGrid: no images");
    list.forEach((im, k) => {
      if (im.length !== per)
        throw new Error(`imageGrid: image ${k} has ${im.length} values but C·H·W = ${C}·${H}·${W} = ${per}`);
    });
    n = list.length;
    at = (k, idx) => list[k]![idx]!;
  } else {
    const flat = images as ArrayLike<number>;
    n = countImages(flat.length, per);
    at = (k, idx) => flat[k * per + idx]!;
  }
  let lo: number, hi: number;
  if (opts.range && opts.range !== "auto") {
    [lo, hi] = opts.range;
    if (!(hi > lo)) throw new Error(`imageGrid: range [${lo}, ${hi}] needs lo < hi`);
  } else {
    let min = Infinity;
    for (let k = 0; k < n; k++)
      for (let i = 0; i < per; i++) {
        const v = at(k, i);
        if (v < min) min = v;
      }
    [lo, hi] = min < -0.01 ? [-1, 1] : [0, 1];
  }
  const cols = Math.max(1, Math.min(n, Math.round(opts.cols ?? Math.ceil(Math.sqrt(n)))));
  const rows = Math.ceil(n / cols);
  const s = Math.max(1, Math.round(opts.scale ?? Math.min(8, Math.ceil(56 / Math.max(H, W)))));
  const pad = Math.max(0, Math.round(opts.pad ?? 2));
  const cw = W * s,
    ch = H * s;
  const canvas = new Canvas(cols * cw + (cols + 1) * pad, rows * ch + (rows + 1) * pad, opts.padColor ?? [96, 96, 104]);
  const d = canvas.data;
  const toByte = (v: number) =>
    Number.isNaN(v) ? -1 : Math.round(255 * Math.max(0, Math.min(1, (v - lo) / (hi - lo))));
  const hw = H * W;
  for (let k = 0; k < n; k++) {
    const ox = pad + (k % cols) * (cw + pad),
      oy = pad + Math.floor(k / cols) * (ch + pad);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const p = y * W + x;
        let r: number, g: number, b: number;
        if (C === 1) {
          r = g = b = toByte(at(k, p));
        } else {
          r = toByte(at(k, p));
          g = toByte(at(k, hw + p));
          b = toByte(at(k, 2 * hw + p));
        }
        const nan = r < 0 || g < 0 || b < 0;
        for (let sy = 0; sy < s; sy++) {
          let i = 4 * ((oy + y * s + sy) * canvas.width + ox + x * s);
          for (let sx = 0; sx < s; sx++, i += 4) {
            d[i] = nan ? 255 : r;
            d[i + 1] = nan ? 0 : g;
            d[i + 2] = nan ? 255 : b;
            d[i + 3] = 255;
          }
        }
      }
    }
  }
  return canvas;
}

/**
 * Font size (px) at which a bold title of `text` fits `width` px: 15, or smaller (down to 8) for
 * long titles over narrow grids (the bundled sans-serif averages ≈ 0.62 em per bold character).
 */
export function titleSize(text: string, width: number): number {
  const fit = (width - 6) / (0.62 * [...text].length);
  return Math.max(8, Math.min(15, Math.floor(fit)));
}

/**
 * The image grid as SVG: the raster of {@link renderImageGrid} embedded 1:1 (nearest-neighbour)
 * under a band with the title as text (no band without a title).
 */
export function imageGridSvg(images: ArrayLike<number> | ArrayLike<number>[], opts: ImageGridOptions): string {
  const grid = renderImageGrid(images, opts);
  const band = opts.title ? GRID_TITLE_HEIGHT : 0;
  const c = new SvgCanvas(grid.width, grid.height + band);
  if (opts.title)
    c.text(opts.title, grid.width / 2, 8, INK, {
      size: titleSize(opts.title, grid.width),
      align: "center",
      bold: true,
    });
  c.image(grid, 0, band, grid.width, grid.height, true);
  return c.toString();
}
